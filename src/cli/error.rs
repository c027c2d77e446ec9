//! What can go wrong in a `lender` command, by kind: the service's own errors keep their
//! type, and each failure of the command line itself says which setting, server or job.

use thiserror::Error;

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

    /// The server's own listeners (gRPC, metrics, the board) could not start or stopped.
    #[error("{0}")]
    Serving(String),

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

/// Why `lender job ID` (or the board's job page) found no single job.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JobLookup {
    #[error("no job {id:?} in the history (see `lender jobs`)")]
    Missing { id: String },
    #[error("{id:?} matches {matches} jobs; give more of the id")]
    Ambiguous { id: String, matches: usize },
}
