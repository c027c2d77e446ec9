use super::*;

#[test]
fn counts_blocks_per_host() {
    let block = |hosts: &[&str]| BlockLocation {
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
    };
    let counts = count_per_host(&[block(&["a", "b"]), block(&["b", "c"]), block(&["a", "b"])]);
    assert_eq!(
        counts,
        BTreeMap::from([("a".into(), 2), ("b".into(), 3), ("c".into(), 1)])
    );
}

#[test]
fn builds_encoded_urls() {
    let w = WebHdfs::new("http://boss:9870", "root").unwrap();
    let url = w.op_url("/dir/a b.parquet", "GETFILESTATUS").unwrap();
    assert_eq!(
        url.as_str(),
        "http://boss:9870/webhdfs/v1/dir/a%20b.parquet?op=GETFILESTATUS&user.name=root"
    );
}

fn query(url: &Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[test]
fn create_url_names_user_and_every_write_setting() {
    let w = WebHdfs::new("http://boss:9870", "alice").unwrap();
    let url = w
        .create_url("/.lender-tmp/x.parquet", 2, 1024 * 1024)
        .unwrap();
    assert_eq!(url.path(), "/webhdfs/v1/.lender-tmp/x.parquet");
    let expected: BTreeMap<String, String> = [
        ("op", "CREATE"),
        ("user.name", "alice"),
        ("overwrite", "true"),
        ("replication", "2"),
        ("blocksize", "1048576"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(query(&url), expected);
}

#[test]
fn every_op_url_carries_the_user() {
    let w = WebHdfs::new("http://boss:9870", "root").unwrap();
    for op in ["GETFILEBLOCKLOCATIONS", "GETFILESTATUS", "CREATE", "DELETE"] {
        let url = w.op_url("/hdma-wi-2021.parquet", op).unwrap();
        let q = query(&url);
        assert_eq!(
            q.get("user.name").map(String::as_str),
            Some("root"),
            "{url}"
        );
        assert_eq!(q.get("op").map(String::as_str), Some(op), "{url}");
    }
}

#[test]
fn a_create_target_is_probed_at_its_http_port() {
    let target = |url: &str| CreateTarget {
        host: "dn1".into(),
        url: Url::parse(url).unwrap(),
        path: "/x".into(),
    };
    let at = |url| target(url).probe_addr();
    assert_eq!(
        at("http://10.0.0.1:9864/webhdfs/v1/x?op=CREATE").as_deref(),
        Some("10.0.0.1:9864")
    );
    assert_eq!(at("http://dn1/webhdfs/v1/x").as_deref(), Some("dn1:80"));
}

#[test]
fn an_empty_user_is_refused() {
    assert!(WebHdfs::new("http://boss:9870", " ").is_err());
}

/// Accepts connections on `listener` and answers each request with `reply` (or, when None,
/// reads it and never answers: a DataNode whose request threads are all stuck).
async fn serve_http(listener: tokio::net::TcpListener, reply: Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let reply = reply.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut buf).await;
            match reply {
                Some(reply) => {
                    let _ = socket.write_all(reply.as_bytes()).await;
                }
                None => {
                    // Keep reading (and so keep taking bytes) without ever answering.
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                }
            }
        });
    }
}

#[tokio::test]
async fn a_datanode_that_answers_probes_but_never_confirms_is_busy_within_the_stall_bound() {
    let datanode = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dn_addr = datanode.local_addr().unwrap();
    tokio::spawn(serve_http(datanode, None));
    let namenode = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nn_addr = namenode.local_addr().unwrap();
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{dn_addr}/webhdfs/v1/x?op=CREATE\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    tokio::spawn(serve_http(namenode, Some(redirect)));

    let webhdfs = WebHdfs::new(&format!("http://{nn_addr}"), "root").unwrap();
    let progress = Progress::default();
    let started = std::time::Instant::now();
    let result = webhdfs
        .create(
            "/x",
            reqwest::Body::from(vec![7u8; 1000]),
            &progress,
            &CreateOptions {
                placement: Placement {
                    replication: 1,
                    block_size: 1024 * 1024,
                    exclude: &[],
                },
                probe_every: Duration::from_millis(200),
                stall: Duration::from_millis(700),
            },
        )
        .await;
    let took = started.elapsed();
    match result {
        Err(Error::Busy { host, message }) => {
            assert_eq!(host, "127.0.0.1");
            assert!(message.contains("did not confirm"), "{message}");
        }
        other => panic!("expected a busy DataNode, got {other:?}"),
    }
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(5),
        "gave up after {took:?}"
    );
}
