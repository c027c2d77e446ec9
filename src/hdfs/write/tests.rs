use super::*;

#[test]
fn every_try_writes_under_its_own_temporary_name() {
    let path = "/partitions/55001.parquet";
    let names: std::collections::HashSet<String> = (1..=2)
        .flat_map(|attempt| (1..=3).map(move |t| try_temp_path(path, &format!("job-{attempt}"), t)))
        .collect();
    assert_eq!(names.len(), 6);
    assert_eq!(
        try_temp_path(path, "job-2", 3),
        "/.lender-tmp/job-2-3-partitions-55001.parquet"
    );
}

#[test]
fn a_silent_node_makes_the_file_go_alone_and_a_killed_one_does_not() {
    assert_eq!(send_replication(false, 2), 2);
    assert_eq!(send_replication(true, 2), all_nodes::SOLO_REPLICATION);
}

#[test]
fn a_doubling_backoff_waits_after_every_failure_up_to_its_bound() {
    let backoff = Backoff::Doubling {
        first: Duration::from_millis(200),
        max: Duration::from_secs(2),
    };
    let waits: Vec<u64> = (1..=8)
        .map(|t| {
            backoff
                .after(t, t % 2 == 0)
                .map_or(0, |d| d.as_millis() as u64)
        })
        .collect();
    assert_eq!(waits, [200, 400, 800, 1600, 2000, 2000, 2000, 2000]);
}

#[test]
fn a_linear_backoff_waits_only_when_the_next_try_would_go_the_same_way() {
    let backoff = Backoff::Linear {
        step: Duration::from_millis(100),
    };
    assert_eq!(backoff.after(3, true), None);
    assert_eq!(backoff.after(3, false), Some(Duration::from_millis(300)));
}

/// A health that only counts what the write path tells it.
#[derive(Default)]
struct Counted {
    forgiven: std::sync::atomic::AtomicU32,
}

impl DataNodeHealth for Counted {
    fn avoid(&self, _: &WebHdfs) -> impl Future<Output = Vec<String>> + Send {
        std::future::ready(Vec::new())
    }
    fn suspect(&self, _: &str) {}
    fn suspect_unreachable(&self, _: &Unreachable) {}
    fn any_silent(&self) -> bool {
        false
    }
    fn forgive_all(&self) {
        self.forgiven
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn a_failed_try_teaches_the_next_which_nodes_to_avoid_and_when_to_forget() {
    let health = Counted::default();
    let forgiven = || health.forgiven.load(std::sync::atomic::Ordering::Relaxed);
    let refused = || Error::WebHdfs {
        context: "CREATE /x".into(),
        message: "NameNode answered 403 without choosing a DataNode".into(),
    };
    let suspects = vec!["dn1".to_owned()];
    let mut busy = Vec::new();

    let failed_node = Error::datanode("dn2", "could not connect");
    assert!(learn(&health, "/x", 1, &failed_node, &suspects, &mut busy));
    assert_eq!(
        (forgiven(), busy.len()),
        (0, 0),
        "a failed node forgives nothing"
    );

    let slow = Error::Busy {
        host: "dn3".into(),
        message: "took no bytes".into(),
    };
    assert!(learn(&health, "/x", 2, &slow, &suspects, &mut busy));
    assert_eq!(busy, ["dn3"]);

    assert!(learn(&health, "/x", 3, &refused(), &suspects, &mut busy));
    assert_eq!(forgiven(), 1, "a refusal while avoiding nodes forgets them");
    assert!(busy.is_empty(), "and the busy ones too");

    assert!(!learn(&health, "/x", 4, &refused(), &[], &mut busy));
    assert_eq!(
        forgiven(),
        1,
        "a refusal while avoiding none changes nothing"
    );
}
