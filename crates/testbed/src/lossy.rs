//! A lossy, jittery UDP path for SIP, in user space: this machine's kernel has no
//! `sch_netem`, so `tc netem` cannot impair a link here. A relay on 127.0.0.1 stands between
//! the clients and their server as a NAT would: each client gets a socket of its own toward
//! the server (the server sees that address), and what the server sends there goes back to
//! that client. Every datagram is dropped with a probability or held back for a delay plus
//! jitter, both ways, from a seeded generator (the same seed, the same fates in order). Give
//! the server the relay's address as its own advertised one
//! (`KamailioOptions::behind`), and every client, in-dialog requests included, talks through
//! it. It stops with its drop.

use crate::TestbedError;
use std::collections::{BinaryHeap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How each direction is impaired.
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    /// Share of datagrams dropped (0.2: one in five).
    pub loss: f64,
    /// Every datagram kept is held back this long...
    pub delay: Duration,
    /// ...plus or minus up to this much (uniform), so datagrams overtake each other.
    pub jitter: Duration,
    pub seed: u64,
}

/// Datagrams seen and dropped so far, both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub seen: u64,
    pub dropped: u64,
}

/// A datagram held back until `at`.
struct Due {
    at: Instant,
    n: u64,
    via: Arc<UdpSocket>,
    to: SocketAddr,
    bytes: Vec<u8>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.n) == (other.at, other.n)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    // A min-heap on (at, n).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.n).cmp(&(self.at, self.n))
    }
}

/// xorshift64*: small, seeded, good enough to pick fates.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the relay's threads share.
struct Shared {
    imp: Impairment,
    server: SocketAddr,
    front: Arc<UdpSocket>,
    stop: AtomicBool,
    rng: Mutex<Rng>,
    seq: AtomicU64,
    counts: Mutex<Counts>,
    heap: Mutex<BinaryHeap<Due>>,
    wake: Condvar,
    /// Each client's socket toward the server.
    backs: Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    /// Drops `bytes` or schedules it to `to` through `via`.
    fn pass(&self, via: &Arc<UdpSocket>, to: SocketAddr, bytes: &[u8]) {
        let (lost, wait) = {
            let mut r = self.rng.lock().unwrap();
            let lost = r.next_f64() < self.imp.loss;
            let spread = (r.next_f64() * 2.0 - 1.0) * self.imp.jitter.as_secs_f64();
            let wait = (self.imp.delay.as_secs_f64() + spread).max(0.0);
            (lost, Duration::from_secs_f64(wait))
        };
        {
            let mut c = self.counts.lock().unwrap();
            c.seen += 1;
            c.dropped += u64::from(lost);
        }
        if lost {
            return;
        }
        self.heap.lock().unwrap().push(Due {
            at: Instant::now() + wait,
            n: self.seq.fetch_add(1, Ordering::Relaxed),
            via: via.clone(),
            to,
            bytes: bytes.to_vec(),
        });
        self.wake.notify_one();
    }

    /// `client`'s socket toward the server, made (with its reader) on first use.
    fn back_for(self: &Arc<Self>, client: SocketAddr) -> Result<Arc<UdpSocket>, TestbedError> {
        let mut backs = self.backs.lock().unwrap();
        if let Some(b) = backs.get(&client) {
            return Ok(b.clone());
        }
        let back = Arc::new(bound_socket("a client's server-side")?);
        backs.insert(client, back.clone());
        let (me, reader) = (self.clone(), back.clone());
        self.threads
            .lock()
            .unwrap()
            .push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !me.stop.load(Ordering::Relaxed) {
                    if let Ok((n, _)) = reader.recv_from(&mut buf) {
                        me.pass(&me.front, client, &buf[..n]);
                    }
                }
            }));
        Ok(back)
    }
}

fn bound_socket(what: &str) -> Result<UdpSocket, TestbedError> {
    let s = UdpSocket::bind("127.0.0.1:0")
        .map_err(|e| TestbedError::io(format!("bind the relay's {what} socket"), e))?;
    s.set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| TestbedError::io("set a read timeout", e))?;
    Ok(s)
}

/// The relay: give clients [`LossyRelay::addr`] as their server.
pub struct LossyRelay {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl LossyRelay {
    /// Binds the relay's address (to give the server before it starts); nothing is relayed
    /// until [`LossyRelay::start`].
    pub fn bind() -> Result<UdpSocket, TestbedError> {
        bound_socket("client-side")
    }

    /// Relays between the clients that send to `front` (from [`LossyRelay::bind`]) and
    /// `server`, with `imp` each way.
    pub fn start(
        front: UdpSocket,
        server: SocketAddr,
        imp: Impairment,
    ) -> Result<LossyRelay, TestbedError> {
        let addr = front
            .local_addr()
            .map_err(|e| TestbedError::io("relay address", e))?;
        let shared = Arc::new(Shared {
            imp,
            server,
            front: Arc::new(front),
            stop: AtomicBool::new(false),
            rng: Mutex::new(Rng(imp.seed.max(1))),
            seq: AtomicU64::new(0),
            counts: Mutex::default(),
            heap: Mutex::default(),
            wake: Condvar::new(),
            backs: Mutex::default(),
            threads: Mutex::default(),
        });
        let me = shared.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !me.stop.load(Ordering::Relaxed) {
                let Ok((n, client)) = me.front.recv_from(&mut buf) else {
                    continue;
                };
                if let Ok(back) = me.back_for(client) {
                    me.pass(&back, me.server, &buf[..n]);
                }
            }
        });
        let me = shared.clone();
        let sender = std::thread::spawn(move || {
            let mut heap = me.heap.lock().unwrap();
            while !me.stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                let next = heap.peek().map(|d| d.at);
                match next {
                    Some(at) if at <= now => {
                        let d = heap.pop().expect("peeked");
                        let _ = d.via.send_to(&d.bytes, d.to);
                    }
                    _ => {
                        let wait = next.map_or(Duration::from_millis(50), |at| at - now);
                        heap = me.wake.wait_timeout(heap, wait).unwrap().0;
                    }
                }
            }
        });
        shared.threads.lock().unwrap().extend([reader, sender]);
        Ok(LossyRelay { addr, shared })
    }

    /// Where clients send.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Datagrams relayed and dropped so far.
    pub fn counts(&self) -> Counts {
        *self.shared.counts.lock().unwrap()
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        let threads = std::mem::take(&mut *self.shared.threads.lock().unwrap());
        for t in threads {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_about_the_share_asked_and_delays_the_rest() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let imp = Impairment {
            loss: 0.2,
            delay: Duration::from_millis(30),
            jitter: Duration::from_millis(10),
            seed: 7,
        };
        let relay = LossyRelay::start(
            LossyRelay::bind().unwrap(),
            server.local_addr().unwrap(),
            imp,
        )
        .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sent_at = Instant::now();
        for i in 0..200u32 {
            client.send_to(&i.to_be_bytes(), relay.addr()).unwrap();
        }
        let mut got = 0;
        let mut buf = [0u8; 16];
        while server.recv_from(&mut buf).is_ok() {
            got += 1;
        }
        assert!(sent_at.elapsed() >= Duration::from_millis(20));
        let c = relay.counts();
        assert_eq!(c.seen, 200);
        assert_eq!(got, 200 - c.dropped);
        assert!((20..=60).contains(&c.dropped), "{c:?}");
    }
}
