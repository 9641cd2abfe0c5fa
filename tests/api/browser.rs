//! The pages in a real browser: headless Chromium, driven over the DevTools protocol,
//! signs in through the form, opens the dashboard and a walk packet, checks the map's
//! hexagons and names, the phone layout, the minute refresh, and that the console
//! stayed clean (no script errors, no Content-Security-Policy violations); it saves
//! screenshots to `target/screenshots/` (and, with `GROUNDSWELL_UPDATE_SCREENSHOTS=1`,
//! to `docs/screenshots/` for the README).
//!
//! Skipped, with a message, where Chromium is not installed (`apt-get install chromium`;
//! `GROUNDSWELL_CHROMIUM` names another binary).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use crate::helpers::{PASSWORD, TestApp, json_with};
use crate::knocks::sync;
use crate::pages::field;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var("GROUNDSWELL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let path = PathBuf::from(path);
    path.exists().then_some(path)
}

/// A headless Chromium, ended (and its profile removed) when dropped.
struct Browser {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    fn start(binary: &Path) -> Browser {
        let profile = std::env::temp_dir().join(format!("gs-chromium-{}", uuid::Uuid::new_v4()));
        let mut child = Command::new(binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--window-size=1280,1000",
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium tells its DevTools address");
        let port = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .and_then(|hp| hp.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .expect("a port");
        Browser {
            child,
            port,
            profile,
        }
    }

    /// The DevTools websocket of the browser's page.
    fn page_socket(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = http_get(self.port, "/json/list");
            let body = text.split("\r\n\r\n").nth(1).unwrap_or("[]");
            let targets: Value = serde_json::from_str(body).unwrap_or(json!([]));
            if let Some(url) = targets
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            {
                return url.to_owned();
            }
            assert!(Instant::now() < deadline, "no page target: {body}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A GET to the DevTools HTTP endpoint (it answers HTTP/1.1 only, and keeps the
/// connection open: read up to the announced length).
fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&data).into_owned()
}

/// A DevTools protocol session with one page.
struct Cdp {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
    /// Everything the console said at the error level, and uncaught exceptions.
    errors: Vec<String>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let address = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let (socket, _) = tungstenite::client(url, stream).expect("devtools handshake");
        Cdp {
            socket,
            next_id: 0,
            events: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.socket.read().expect("devtools message") {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(text.as_str()).unwrap();
                    self.note(&v);
                    return v;
                }
                Message::Close(_) => panic!("devtools closed"),
                _ => {}
            }
        }
    }

    /// Keeps console errors and exceptions, whatever else is being waited for.
    fn note(&mut self, v: &Value) {
        let params = &v["params"];
        match v["method"].as_str() {
            Some("Runtime.exceptionThrown") => self
                .errors
                .push(format!("exception: {}", params["exceptionDetails"])),
            Some("Runtime.consoleAPICalled")
                if params["type"] == "error" || params["type"] == "assert" =>
            {
                self.errors.push(format!("console: {}", params["args"]))
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => self
                .errors
                .push(format!("log: {}", params["entry"]["text"])),
            _ => {}
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket.send(Message::Text(message.into())).unwrap();
        loop {
            let v = self.read();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    fn wait_for(&mut self, method: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(i);
        }
        loop {
            let v = self.read();
            if v["method"] == method {
                return v;
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    fn navigate(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_for("Page.loadEventFired");
    }

    /// Evaluates `expression` (awaiting a promise) and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        );
    }

    fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": false }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

/// More knocks over more lists and turfs, spread over the day, so the map and the
/// table have something to show.
async fn knock_more(app: &TestApp, admin: &str, volunteer: &str, volunteer_id: i64, turfs: &[i64]) {
    let results = [
        "contacted",
        "not_home",
        "contacted",
        "refused",
        "not_home",
        "contacted",
        "come_back",
        "not_home",
        "contacted",
    ];
    // Lists on a few more of Vaduz's turfs (the last turf is Planken's, with lists).
    for turf in turfs.iter().take(turfs.len() - 1).skip(2).take(6) {
        app.post(
            "/api/v1/walk-lists",
            Some(admin),
            json!({ "turf_id": turf, "max_doors": 50 }),
        )
        .await;
    }
    for (t, turf) in turfs.iter().enumerate().skip(1) {
        let lists = json_with(
            app.get(
                &format!("/api/v1/walk-lists?turf_id={turf}&limit=200"),
                admin,
            )
            .await,
            200,
        )
        .await;
        for (l, summary) in lists["items"].as_array().unwrap().iter().enumerate() {
            let id = summary["id"].as_i64().unwrap();
            app.post(
                &format!("/api/v1/walk-lists/{id}/assignments"),
                Some(admin),
                json!({ "user_id": volunteer_id }),
            )
            .await;
            let list = json_with(
                app.get(&format!("/api/v1/walk-lists/{id}"), admin).await,
                200,
            )
            .await;
            let stops = list["stops"].as_array().unwrap();
            // Some lists further along than others, one untouched.
            let share = [0.9, 0.5, 0.7, 0.0, 0.3][(t + l) % 5];
            let n = (stops.len() as f64 * share) as usize;
            let knocks: Vec<Value> = (0..n)
                .map(|i| {
                    let result = results[(i * 3 + l + t) % results.len()];
                    let minutes = 20 + i64::try_from((i * 7 + t * 13) % 600).unwrap();
                    crate::knocks::knock(&list, i, result, minutes)
                })
                .collect();
            sync(app, volunteer, &knocks).await;
        }
    }
}

#[tokio::test]
async fn in_a_browser_the_dashboard_and_a_packet_show_their_maps_without_errors() {
    let Some(binary) = chromium() else {
        eprintln!(
            "SKIPPED in_a_browser_the_dashboard_and_a_packet_show_their_maps_without_errors: \
             no Chromium found (looked at $GROUNDSWELL_CHROMIUM, else /usr/bin/chromium; apt-get install chromium)"
        );
        return;
    };
    let f = field().await;
    knock_more(&f.app, &f.admin, &f.volunteer, f.volunteer_id, &f.turfs).await;
    let base = f.app.address.clone();
    let list_id = f.list["id"].as_i64().unwrap();
    let stops = f.list["stops"].as_array().unwrap().len();

    let checked = tokio::task::spawn_blocking(move || {
        let browser = Browser::start(&binary);
        let mut cdp = Cdp::connect(&browser.page_socket());
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            cdp.call(domain, json!({}));
        }
        cdp.viewport(1280, 1000, false);

        // Sign in through the form, as a person does.
        cdp.navigate(&format!("{base}/"));
        assert_eq!(cdp.eval("location.pathname"), "/login", "sent to sign in");
        cdp.eval(&format!(
            "document.getElementById('email').value = 'admin@test.org';
             document.getElementById('password').value = {};
             document.querySelector('form.login').submit(); true",
            json!(PASSWORD)
        ));
        cdp.wait_for("Page.loadEventFired");
        assert_eq!(cdp.eval("location.pathname"), "/");

        let map = cdp.eval(
            "({
                hexes: document.querySelectorAll('svg.map path.hex').length,
                named: [...document.querySelectorAll('svg.map path.hex title')]
                    .filter(t => / \\(Vaduz\\): \\d+ doors knocked/.test(t.textContent)).length,
                turfs: document.querySelectorAll('svg.map path.turf').length,
                regions: [...document.querySelectorAll('svg.map path.region title')].map(t => t.textContent),
                rows: document.querySelectorAll('#progress-table tbody tr[data-key]').length,
                skip: document.querySelector('a.skip') === document.querySelectorAll('a, button, input, select')[0],
                width: document.querySelector('svg.map').getBoundingClientRect().width,
            })",
        );
        assert!(map["hexes"].as_u64().unwrap() >= 5, "{map}");
        assert!(map["named"].as_u64().unwrap() >= 1, "hexagons carry names: {map}");
        assert!(map["turfs"].as_u64().unwrap() >= 4, "{map}");
        assert_eq!(map["regions"], json!(["Region Vaduz", "Region Planken"]), "{map}");
        assert!(map["rows"].as_u64().unwrap() >= 3, "{map}");
        assert_eq!(map["skip"], true, "the skip link comes first");
        assert!(map["width"].as_f64().unwrap() > 300.0, "{map}");

        // The minute's refresh, run now: the live part is swapped, the page stays.
        cdp.eval("window.__marker = 42; true");
        assert_eq!(cdp.eval("window.groundswellRefresh()"), true);
        assert_eq!(cdp.eval("window.__marker"), 42, "no reload");
        assert_eq!(
            cdp.eval("document.querySelectorAll('svg.map path.hex').length"),
            map["hexes"]
        );
        assert!(
            cdp.eval("document.getElementById('live-status').textContent")
                .as_str()
                .unwrap()
                .starts_with("Updated")
        );
        let dashboard = cdp.screenshot("dashboard.png");

        // On a phone: one column, the table under the map.
        cdp.viewport(390, 844, true);
        let phone = cdp.eval(
            "({
                columns: getComputedStyle(document.querySelector('.dash')).gridTemplateColumns.split(' ').length,
                below: document.querySelector('#progress-table').getBoundingClientRect().top
                    > document.querySelector('svg.map').getBoundingClientRect().bottom,
                overflow: document.documentElement.scrollWidth <= 390,
            })",
        );
        assert_eq!(phone, json!({ "columns": 1, "below": true, "overflow": true }));
        cdp.screenshot("dashboard-phone.png");

        // A packet, as printed.
        cdp.viewport(900, 1270, false);
        cdp.navigate(&format!("{base}/walk-lists/{list_id}/packet"));
        let packet = cdp.eval(
            "({
                qr: document.querySelectorAll('section.packet svg.qr path').length,
                marks: document.querySelectorAll('svg.route g.stop-mark').length,
                rows: document.querySelectorAll('table.stops tr.stop').length,
            })",
        );
        assert_eq!(packet, json!({ "qr": 1, "marks": stops, "rows": stops }));
        cdp.call("Emulation.setEmulatedMedia", json!({ "media": "print" }));
        let packet_shot = cdp.screenshot("packet.png");
        let printed = cdp.call(
            "Page.printToPDF",
            json!({ "paperWidth": 8.27, "paperHeight": 11.69, "printBackground": true }),
        );
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(printed["data"].as_str().unwrap())
            .unwrap();
        assert!(pdf.starts_with(b"%PDF"));

        // Nothing went wrong in the console: no script error, no blocked resource.
        cdp.call("Runtime.evaluate", json!({ "expression": "1" }));
        assert!(cdp.errors.is_empty(), "console errors: {:#?}", cdp.errors);
        drop(browser);
        (dashboard, packet_shot)
    })
    .await
    .expect("browser checks");

    if std::env::var_os("GROUNDSWELL_UPDATE_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&checked.0, docs.join("dashboard.png")).unwrap();
        std::fs::copy(&checked.1, docs.join("packet.png")).unwrap();
    }
}
