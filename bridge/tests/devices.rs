//! The audio device endpoints against a fake device control: listing, switching, refusals
//! mapped to HTTP, the same security as every route; and the volatile `levels` event.

mod common;

use axum::body::Body;
use bridge::protocol::EventBody;
use bridge::{DeviceControl, DeviceControlError, DeviceEntry, DeviceList, Hub, RegistrationState};
use common::*;
use std::sync::{Arc, Mutex};

/// Inputs `mic` (default) and `headset-mic`; outputs `speaker` (default) and `headset`.
/// Switching to `busy` fails as a device that cannot be opened would.
struct FakeDevices {
    input: Mutex<String>,
    output: Mutex<String>,
    ring: Mutex<String>,
    sound_server: bool,
}

impl FakeDevices {
    fn new() -> Arc<FakeDevices> {
        Arc::new(FakeDevices {
            input: Mutex::new("mic".into()),
            output: Mutex::new("speaker".into()),
            ring: Mutex::new("output".into()),
            sound_server: true,
        })
    }
}

fn entry(name: &str, default: bool, used: &str) -> DeviceEntry {
    DeviceEntry {
        name: name.into(),
        description: format!("{name} (fake)"),
        default,
        in_use: name == used,
    }
}

impl DeviceControl for FakeDevices {
    fn list(&self) -> Result<DeviceList, DeviceControlError> {
        if !self.sound_server {
            return Err(DeviceControlError::Unavailable(
                "audio host pulseaudio is not available".into(),
            ));
        }
        let (i, o) = (self.input.lock().unwrap(), self.output.lock().unwrap());
        Ok(DeviceList {
            inputs: vec![entry("mic", true, &i), entry("headset-mic", false, &i)],
            outputs: vec![entry("speaker", true, &o), entry("headset", false, &o)],
            input: Some(i.clone()),
            output: Some(o.clone()),
            ring: Some(self.ring.lock().unwrap().clone()),
        })
    }

    fn select(
        &self,
        input: Option<&str>,
        output: Option<&str>,
        ring: Option<&str>,
    ) -> Result<DeviceList, DeviceControlError> {
        for name in input.iter().chain(output.iter()).chain(ring.iter()) {
            if *name == "busy" {
                return Err(DeviceControlError::Device(
                    "cannot open audio output device \"busy\": device busy".into(),
                ));
            }
        }
        if let Some(i) = input {
            *self.input.lock().unwrap() = i.into();
        }
        if let Some(o) = output {
            *self.output.lock().unwrap() = o.into();
        }
        if let Some(r) = ring {
            *self.ring.lock().unwrap() = r.into();
        }
        self.list()
    }
}

fn app_with(devices: Option<Arc<dyn DeviceControl>>) -> axum::Router {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    bridge::router_with_devices(hub, fake_agent(), security(), devices)
}

#[tokio::test]
async fn lists_devices_with_defaults_and_the_ones_in_use() {
    let router = app_with(Some(FakeDevices::new()));
    let a = send(
        &router,
        req("GET", "/api/v1/devices").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["input"], "mic");
    assert_eq!(a.json["output"], "speaker");
    assert_eq!(
        a.json["outputs"][1],
        serde_json::json!({"name": "headset", "description": "headset (fake)",
            "default": false, "in_use": false})
    );
    assert_eq!(a.json["inputs"][0]["default"], true);
    assert_eq!(a.json["inputs"][0]["in_use"], true);
}

#[tokio::test]
async fn switches_either_side_or_both() {
    let router = app_with(Some(FakeDevices::new()));
    let a = post_json(&router, "/api/v1/devices", r#"{"output": "headset"}"#).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["output"], "headset");
    assert_eq!(a.json["input"], "mic");
    assert_eq!(a.json["outputs"][1]["in_use"], true);
    let a = post_json(
        &router,
        "/api/v1/devices",
        r#"{"input": " headset-mic ", "output": "speaker"}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["input"], "headset-mic");
    assert_eq!(a.json["output"], "speaker");
}

#[tokio::test]
async fn switches_the_ring_device_alone() {
    let router = app_with(Some(FakeDevices::new()));
    let a = send(
        &router,
        req("GET", "/api/v1/devices").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.json["ring"], "output", "{}", a.json);
    let a = post_json(&router, "/api/v1/devices", r#"{"ring": "speaker"}"#).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["ring"], "speaker");
    assert_eq!(a.json["output"], "speaker");
    let a = post_json(&router, "/api/v1/devices", r#"{"ring": "none"}"#).await;
    assert_eq!(a.json["ring"], "none", "{}", a.json);
    let a = post_json(&router, "/api/v1/devices", r#"{"ring": ""}"#).await;
    assert_eq!(a.status, 400, "{}", a.json);
    let message = a.json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("ring"), "{}", a.json);
    let a = post_json(&router, "/api/v1/devices", r#"{"ring": "busy"}"#).await;
    assert_error(&a, 422, "unknown_device");
}

#[tokio::test]
async fn bad_switches_are_refused_in_our_shape() {
    let router = app_with(Some(FakeDevices::new()));
    for body in [
        "{}",
        r#"{"output": ""}"#,
        r#"{"output": "  "}"#,
        r#"{"input": "a\u0007b"}"#,
    ] {
        let a = post_json(&router, "/api/v1/devices", body).await;
        assert_error(&a, 400, "bad_request");
    }
    let long = format!(r#"{{"output": "{}"}}"#, "x".repeat(257));
    assert_error(
        &post_json(&router, "/api/v1/devices", &long).await,
        400,
        "bad_request",
    );
    assert_error(
        &post_json(&router, "/api/v1/devices", r#"{"speaker": "x"}"#).await,
        400,
        "malformed_json",
    );
    assert_error(
        &post_json(&router, "/api/v1/devices", r#"{"output": 3}"#).await,
        400,
        "malformed_json",
    );
    let a = post_json(&router, "/api/v1/devices", r#"{"output": "busy"}"#).await;
    assert_error(&a, 422, "unknown_device");
    // Nothing changed.
    let a = send(
        &router,
        req("GET", "/api/v1/devices").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.json["output"], "speaker");
}

#[tokio::test]
async fn refusals_of_the_agent_map_to_http() {
    // No device control at all (an agent built without one).
    let router = app_with(None);
    let a = send(
        &router,
        req("GET", "/api/v1/devices").body(Body::empty()).unwrap(),
    )
    .await;
    assert_error(&a, 503, "unavailable");
    // Headless config: not devices.
    struct Headless;
    impl DeviceControl for Headless {
        fn list(&self) -> Result<DeviceList, DeviceControlError> {
            Err(DeviceControlError::NotADevice(
                "[audio] input and output are not devices".into(),
            ))
        }
        fn select(
            &self,
            _: Option<&str>,
            _: Option<&str>,
            _: Option<&str>,
        ) -> Result<DeviceList, DeviceControlError> {
            self.list()
        }
    }
    let router = app_with(Some(Arc::new(Headless)));
    let a = post_json(&router, "/api/v1/devices", r#"{"input": "default"}"#).await;
    assert_error(&a, 409, "not_a_device");
    // Sound server gone.
    let router = app_with(Some(Arc::new(FakeDevices {
        sound_server: false,
        ..Arc::try_unwrap(FakeDevices::new()).ok().unwrap()
    })));
    let a = send(
        &router,
        req("GET", "/api/v1/devices").body(Body::empty()).unwrap(),
    )
    .await;
    assert_error(&a, 503, "unavailable");
}

#[tokio::test]
async fn device_routes_have_the_same_security_as_the_others() {
    let router = app_with(Some(FakeDevices::new()));
    // No token, no origin: 401.
    let a = send(
        &router,
        axum::http::Request::builder()
            .method("GET")
            .uri("/api/v1/devices")
            .header("host", HOST)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 401, "{}", a.json);
    // A foreign page: 403, and nothing switched.
    let a = send(
        &router,
        axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/devices")
            .header("host", HOST)
            .header("origin", "https://evil.example.com")
            .header("content-type", "application/json")
            .body(json_body(r#"{"output": "headset"}"#))
            .unwrap(),
    )
    .await;
    assert_error(&a, 403, "forbidden_origin");
    // DNS rebinding: a foreign Host is refused even with the token.
    let a = send(
        &router,
        axum::http::Request::builder()
            .method("GET")
            .uri("/api/v1/devices")
            .header("host", "evil.example.com")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&a, 403, "forbidden_host");
    // The Salesforce page is allowed.
    let a = send(
        &router,
        from_page("GET", "/api/v1/devices")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.json);
    let a = send(
        &router,
        req("GET", "/api/v1/devices").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.json["output"], "speaker");
}

fn dtmf(digits: &str) -> EventBody {
    EventBody::Dtmf {
        call_id: "c1".into(),
        digits: digits.into(),
    }
}

#[tokio::test]
async fn levels_are_sent_live_but_never_replayed() {
    let hub = Hub::new(status(RegistrationState::Registered, None));
    let server = serve(hub.clone(), security()).await;
    let mut ws = connect(server.addr, "", Client::Token).await.unwrap();
    expect_event(&mut ws, "snapshot").await;
    hub.publish(status(RegistrationState::Registered, None), dtmf("1"));
    hub.publish_volatile(EventBody::Levels {
        input_dbfs: -20,
        output_dbfs: -96,
    });
    assert_eq!(hub.seq(), 1, "a volatile event takes no seq");
    assert_eq!(next_event(&mut ws).await["seq"], 1);
    assert_eq!(
        next_event(&mut ws).await,
        serde_json::json!({"seq": 1, "event": "levels", "input_dbfs": -20, "output_dbfs": -96})
    );
    // Resuming replays the real events only.
    let query = format!("?since=0&instance={}", hub.instance());
    let mut again = connect(server.addr, &query, Client::Token).await.unwrap();
    expect_event(&mut again, "dtmf").await;
    hub.publish(status(RegistrationState::Registered, None), dtmf("2"));
    let e = next_event(&mut again).await;
    assert_eq!(
        (e["event"].as_str(), e["seq"].as_u64()),
        (Some("dtmf"), Some(2))
    );
    let _ = server.stopped().await;
}
