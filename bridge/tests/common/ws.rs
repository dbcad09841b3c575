//! The event WebSocket against a real bridge on a loopback port: serve, connect as a page or
//! a local tool, read events with a deadline.

use super::{fake_agent, TOKEN};
use bridge::{Hub, Security};
use futures_util::StreamExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for an event, a close or the server's end before it fails: generous,
/// since tests share a loaded machine.
pub const EVENT_WITHIN: Duration = Duration::from_secs(5);

/// `bridge::serve` on 127.0.0.1:0 with the fake agent, until [`Server::stop`].
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub async fn serve(hub: Arc<Hub>, security: Security) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bridge::serve(
        listener,
        hub,
        fake_agent(),
        security,
        async move {
            let _ = stopped.await;
        },
    ));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

impl Server {
    /// Asks the server to shut down (it closes its event sockets); [`stopped`](Self::stopped)
    /// waits for the end.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the server and returns how it ended; panics if it does not end in time.
    pub async fn stopped(mut self) -> std::io::Result<()> {
        self.stop();
        tokio::time::timeout(EVENT_WITHIN, self.task)
            .await
            .expect("server did not stop")
            .expect("server task panicked")
    }
}

/// Who opens the event socket.
#[derive(Clone, Copy)]
pub enum Client<'a> {
    /// A local tool: no Origin, the token.
    Token,
    /// A page served from this origin, without the token.
    Page(&'a str),
    /// Neither an Origin nor the token.
    Anonymous,
}

/// Opens `ws://ADDR/api/v1/events{query}` as `client`; a refusal is its HTTP status
/// (`Err("403")`), any other failure its text.
pub async fn connect(addr: SocketAddr, query: &str, client: Client<'_>) -> Result<Ws, String> {
    let mut request = format!("ws://{addr}/api/v1/events{query}")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    match client {
        Client::Token => {
            headers.insert("authorization", format!("Bearer {TOKEN}").parse().unwrap())
        }
        Client::Page(origin) => headers.insert("origin", origin.parse().unwrap()),
        Client::Anonymous => None,
    };
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            Err(resp.status().as_u16().to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The next event (skipping pings); panics on anything else or after [`EVENT_WITHIN`].
pub async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(EVENT_WITHIN, ws.next())
            .await
            .expect("no event in time")
            .expect("socket ended")
            .expect("socket error");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

/// The next event, which must be a `kind` (`snapshot`, `call`, ...).
pub async fn expect_event(ws: &mut Ws, kind: &str) -> Value {
    let event = next_event(ws).await;
    assert_eq!(event["event"], kind, "{event}");
    event
}

/// Asserts nothing arrives within a short while.
pub async fn quiet(ws: &mut Ws) {
    if let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(200), ws.next()).await
    {
        panic!("unexpected event {t}");
    }
}

/// The close frame the server ends the socket with: its code and reason.
pub async fn close_frame(ws: &mut Ws) -> (u16, String) {
    let msg = tokio::time::timeout(EVENT_WITHIN, ws.next())
        .await
        .expect("no close in time");
    match msg {
        Some(Ok(Message::Close(Some(frame)))) => (u16::from(frame.code), frame.reason.to_string()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}
