//! What can go wrong in a `lender` command, by kind: the service's own errors keep their
//! type, and each failure of the command line itself says which setting, server or job.

use thiserror::Error;

use crate::{server::ServeError, views::JobLookup};

#[derive(Debug, Error)]
pub enum CliError {
    /// The store, WebHDFS or MySQL said no, as the server would have.
    #[error(transparent)]
    Service(#[from] crate::Error),

    /// A setting cannot be used as given.
    #[error("bad {name} {value:?}: {why}")]
    Setting {
        name: &'static str,
        value: String,
        why: String,
    },

    /// Nothing answers where the settings say the server listens.
    #[error("no server on {listen}: {why}")]
    NoServer { listen: String, why: String },

    /// The server's health check failed: an error, no answer in time, or a status other
    /// than "serving".
    #[error("health check of {service}: {why}")]
    NotServing { service: String, why: NotServingWhy },

    /// The database file is held, usually by a server that does not listen where we asked.
    #[error("{source} (is a server running with this database but not listening on {listen}?)")]
    StoreHeld {
        #[source]
        source: crate::Error,
        listen: String,
    },

    /// The job the operator named is not in the history, or more than one job matches.
    #[error(transparent)]
    Job(#[from] JobLookup),

    /// `lender serve`: the server could not start, or its listeners stopped.
    #[error(transparent)]
    Serve(#[from] ServeError),

    #[error("printing JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Why the server is not serving, as its health check told us.
#[derive(Debug, thiserror::Error)]
pub enum NotServingWhy {
    #[error("{0}")]
    Failed(String),
    #[error("no answer within {0} s")]
    NoAnswer(u64),
    #[error("the server is {0}")]
    Status(&'static str),
}
