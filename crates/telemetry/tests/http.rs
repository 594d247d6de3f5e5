//! The router on a real listener, spoken to with raw HTTP/1.1 bytes.

use std::time::Duration;

use expect_test::expect;
use textgate_telemetry::{router, ComponentState, Metrics, ModemState, Readiness};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(metrics: Metrics, readiness: Readiness) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router(metrics, readiness))
            .await
            .unwrap()
    });
    address
}

/// The status line, the content type and the body of `GET path`.
async fn get(address: std::net::SocketAddr, path: &str) -> String {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("an answer within 10 s");
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or("-");
    format!("{status}\n{content_type}\n{body}")
}

#[tokio::test]
async fn health_readiness_and_metrics_over_http() {
    let metrics = Metrics::new();
    let readiness = Readiness::new(metrics.clone());
    let address = serve(metrics.clone(), readiness.clone()).await;

    let mut answers = vec![
        get(address, "/healthz").await,
        get(address, "/readyz").await,
    ];
    metrics.register_gateway("library");
    readiness.register_gateway("library");
    readiness.set_component("library", ComponentState::Connected);
    answers.push(get(address, "/readyz").await);
    readiness.set_modem("library", ModemState::Ready);
    answers.push(get(address, "/readyz").await);
    answers.push(get(address, "/nothing-here").await);
    expect![[r#"
        HTTP/1.1 200 OK
        text/plain; charset=utf-8
        ok

        HTTP/1.1 503 Service Unavailable
        text/plain; charset=utf-8
        not ready
        no gateway has started

        HTTP/1.1 503 Service Unavailable
        text/plain; charset=utf-8
        not ready
        library: component connected, modem not ready

        HTTP/1.1 200 OK
        text/plain; charset=utf-8
        ready
        library: component connected, modem ready

        HTTP/1.1 404 Not Found
        -
    "#]]
    .assert_eq(&answers.join("\n"));
}

#[tokio::test]
async fn metrics_move_when_texts_flow() {
    let metrics = Metrics::new();
    let readiness = Readiness::new(metrics.clone());
    let address = serve(metrics.clone(), readiness.clone()).await;
    metrics.register_gateway("library");
    readiness.register_gateway("library");

    let before = get(address, "/metrics").await;
    metrics.text_in("library");
    metrics.text_out("library", 2);
    readiness.set_component("library", ComponentState::Connected);
    let after = get(address, "/metrics").await;

    let pick = |page: &str| -> String {
        page.lines()
            .filter(|l| {
                l.starts_with("HTTP/")
                    || l.starts_with("application/")
                    || l.starts_with("textgate_texts")
                    || l.starts_with("textgate_sms")
                    || l.starts_with("textgate_xmpp_connected")
                    || l.starts_with("# EOF")
            })
            .map(|l| format!("{l}\n"))
            .collect()
    };
    expect![[r#"
        HTTP/1.1 200 OK
        application/openmetrics-text; version=1.0.0; charset=utf-8
        textgate_texts_in_total{gateway="library"} 0
        textgate_texts_out_total{gateway="library"} 0
        textgate_sms_parts_out_total{gateway="library"} 0
        textgate_sms_parts_resent_unsure_total{gateway="library"} 0
        textgate_xmpp_connected{gateway="library"} 0
        # EOF
    "#]]
    .assert_eq(&pick(&before));
    expect![[r#"
        HTTP/1.1 200 OK
        application/openmetrics-text; version=1.0.0; charset=utf-8
        textgate_texts_in_total{gateway="library"} 1
        textgate_texts_out_total{gateway="library"} 1
        textgate_sms_parts_out_total{gateway="library"} 2
        textgate_sms_parts_resent_unsure_total{gateway="library"} 0
        textgate_xmpp_connected{gateway="library"} 1
        # EOF
    "#]]
    .assert_eq(&pick(&after));
}

#[tokio::test]
async fn serve_binds_before_returning_and_names_a_taken_address() {
    let metrics = Metrics::new();
    let readiness = Readiness::new(metrics.clone());
    let serving = textgate_telemetry::serve(
        "127.0.0.1:0".parse().unwrap(),
        router(metrics.clone(), readiness.clone()),
    )
    .await
    .unwrap();
    expect![[r#"
        HTTP/1.1 200 OK
        text/plain; charset=utf-8
        ok
    "#]]
    .assert_eq(&get(serving.address, "/healthz").await);

    let taken = textgate_telemetry::serve(serving.address, router(metrics, readiness))
        .await
        .unwrap_err()
        .to_string();
    let expected = format!("cannot listen on {} (http.listen): ", serving.address);
    assert!(taken.starts_with(&expected), "{taken}");
}

#[tokio::test]
async fn telemetry_start_registers_every_gateway_and_serves() {
    let telemetry = textgate_telemetry::Telemetry::start(
        "127.0.0.1:0".parse().unwrap(),
        ["library", "campus"],
        textgate_telemetry::DEFAULT_READY_GRACE,
    )
    .await
    .unwrap();
    telemetry
        .readiness
        .set_component("library", ComponentState::Connected);
    telemetry.readiness.set_modem("library", ModemState::Ready);
    let address = telemetry.http_address();
    expect![[r#"
        HTTP/1.1 503 Service Unavailable
        text/plain; charset=utf-8
        not ready
        campus: component disconnected, modem not ready
        library: component connected, modem ready
    "#]]
    .assert_eq(&get(address, "/readyz").await);
    let metrics = get(address, "/metrics").await;
    assert!(
        metrics.contains("textgate_texts_in_total{gateway=\"campus\"} 0"),
        "{metrics}"
    );
}
