use super::*;
use crate::store::temp_store;

#[tokio::test]
async fn attempts_are_recorded_and_listed_newest_first() {
    let (store, _dir) = temp_store().await;
    let first = uuid::Uuid::now_v7().to_string();
    let second = uuid::Uuid::now_v7().to_string();
    store
        .history()
        .job_submitted(&first, JobKind::Export, "export".into())
        .await
        .unwrap();
    store
        .history()
        .job_submitted(&second, JobKind::Partition, "county=55001".into())
        .await
        .unwrap();

    assert_eq!(
        store
            .history()
            .attempt_started(&first, JobKind::Export, "export")
            .await
            .unwrap(),
        1
    );
    let failed = AttemptReport {
        error: Some("boom".into()),
        will_retry: true,
        ..Default::default()
    };
    store
        .history()
        .attempt_finished(&first, failed)
        .await
        .unwrap();
    assert_eq!(
        store
            .history()
            .attempt_started(&first, JobKind::Export, "export")
            .await
            .unwrap(),
        2
    );
    let ok = AttemptReport {
        rows: Some(7),
        summary: Some("7 rows".into()),
        ..Default::default()
    };
    store.history().attempt_finished(&first, ok).await.unwrap();

    let jobs = store.history().jobs(10).unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        [&second, &first]
    );
    let export = &jobs[1];
    assert_eq!(export.state, JobState::Succeeded);
    assert_eq!(export.attempts.len(), 2);
    assert_eq!(export.attempts[0].outcome, AttemptOutcome::Failed);
    assert_eq!(export.attempts[0].error.as_deref(), Some("boom"));
    assert_eq!(export.attempts[1].rows, Some(7));
    assert_eq!(jobs[0].state, JobState::Queued);
}

#[tokio::test]
async fn a_job_started_before_it_was_recorded_keeps_its_attempts() {
    let (store, _dir) = temp_store().await;
    let id = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        store
            .history()
            .attempt_started(&id, JobKind::Partition, "county=55001")
            .await
            .unwrap(),
        1
    );
    store
        .history()
        .job_submitted(&id, JobKind::Partition, "county=55001".into())
        .await
        .unwrap();
    let job = store.history().job(&id).unwrap().unwrap();
    assert_eq!(
        (job.args.as_str(), job.attempts.len(), job.state),
        ("county=55001", 1, JobState::Running)
    );
}

#[tokio::test]
async fn running_attempts_become_interrupted_at_startup() {
    let (store, _dir) = temp_store().await;
    let id = uuid::Uuid::now_v7().to_string();
    store
        .history()
        .job_submitted(&id, JobKind::Export, "export".into())
        .await
        .unwrap();
    store
        .history()
        .attempt_started(&id, JobKind::Export, "export")
        .await
        .unwrap();
    assert_eq!(store.history().mark_interrupted().await.unwrap(), 1);
    let job = store.history().job(&id).unwrap().unwrap();
    assert_eq!(job.attempts[0].outcome, AttemptOutcome::Interrupted);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(store.history().mark_interrupted().await.unwrap(), 0);
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
const MONTH: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Writes a job record as it would be after `state`, submitted `age_ms` ago; returns its id.
async fn put_job(store: &Store, state: JobState, age_ms: u64) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let mut job = JobRecord::queued(&id, JobKind::Partition, "county=1".into());
    job.state = state;
    job.submitted_ms = now_ms() - age_ms;
    let raw = to_json(&job).unwrap();
    let key = id.clone();
    store
        .write("test", move |txn| {
            txn.open_table(JOBS)?.insert(key.as_str(), raw.as_str())?;
            Ok(())
        })
        .await
        .unwrap();
    id
}

fn ids(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .history()
        .jobs(usize::MAX)
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    ids.reverse();
    ids
}

#[tokio::test]
async fn prune_history_keeps_the_newest_jobs_within_the_count() {
    let (store, _dir) = temp_store().await;
    let mut all = Vec::new();
    for state in [
        JobState::Succeeded,
        JobState::Failed,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Succeeded,
    ] {
        all.push(put_job(&store, state, 0).await);
    }
    assert_eq!(store.history().prune(3, MONTH).await.unwrap(), 2);
    assert_eq!(ids(&store), all[2..]);
    assert_eq!(store.history().prune(3, MONTH).await.unwrap(), 0);
}

#[tokio::test]
async fn prune_history_removes_finished_jobs_older_than_the_age() {
    let (store, _dir) = temp_store().await;
    put_job(&store, JobState::Succeeded, 45 * DAY_MS).await;
    put_job(&store, JobState::Failed, 31 * DAY_MS).await;
    let recent = put_job(&store, JobState::Failed, 29 * DAY_MS).await;
    let fresh = put_job(&store, JobState::Succeeded, 0).await;
    assert_eq!(store.history().prune(10_000, MONTH).await.unwrap(), 2);
    assert_eq!(ids(&store), [recent, fresh]);
}

#[tokio::test]
async fn prune_history_keeps_queued_and_running_jobs() {
    let (store, _dir) = temp_store().await;
    let queued = put_job(&store, JobState::Queued, 90 * DAY_MS).await;
    put_job(&store, JobState::Succeeded, 60 * DAY_MS).await;
    let running = put_job(&store, JobState::Running, 45 * DAY_MS).await;
    put_job(&store, JobState::Failed, 0).await;
    assert_eq!(store.history().prune(0, MONTH).await.unwrap(), 2);
    assert_eq!(ids(&store), [queued.clone(), running.clone()]);
    assert_eq!(store.history().prune(0, Duration::ZERO).await.unwrap(), 0);
    assert_eq!(ids(&store), [queued, running]);
}

#[tokio::test]
async fn store_errors_say_what_we_did_and_keep_their_source() {
    use crate::error::{Error, StoreError};
    use std::error::Error as _;

    let (store, _dir) = temp_store().await;
    let error = store
        .history()
        .attempt_finished("nope", AttemptReport::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "job store: recording the end of an attempt of job nope: the job is not in the history"
    );
    assert!(matches!(
        error.source().unwrap().downcast_ref(),
        Some(StoreError::UnknownJob)
    ));

    let key = "broken".to_owned();
    store
        .write("test", move |txn| {
            txn.open_table(JOBS)?.insert(key.as_str(), "not json")?;
            Ok(())
        })
        .await
        .unwrap();
    let error = store.history().job("broken").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("job store: reading job broken: JSON: "),
        "{error}"
    );
    let Error::Store { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(matches!(source, StoreError::Json(_)));
    assert!(
        error
            .source()
            .unwrap()
            .source()
            .unwrap()
            .is::<serde_json::Error>()
    );
}
