"""Sign-in throttling under concurrency and the memory of accepting invites, against
the release binary: python3 benches/signin_and_invites.py sqlite|postgres
(cargo build --release first; PostgreSQL at 127.0.0.1:5432, trust auth). Prints how
many of 40 simultaneous wrong passwords (one server) and of 200 (two servers on one
database) were checked (401) or refused unchecked (429), and the server's RSS before
and after 10 and 30 accepted invites. Works in /tmp/m18."""
import json, os, subprocess, sys, threading, time, urllib.request, urllib.error

BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "groundswell")
os.makedirs("/tmp/m18", exist_ok=True)
PW = "a long passphrase for the admin"

def run(args, env):
    return subprocess.run([BIN] + args, env=env, check=True, capture_output=True, text=True).stdout.strip()

def req(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(base + path, data=data, method=method)
    r.add_header("content-type", "application/json")
    if token:
        r.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(r, timeout=60) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return -1

def serve(env, port):
    p = subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{port}"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return p, base
        except Exception:
            time.sleep(0.1)
    raise SystemExit("server did not start")

def setup(url):
    env = dict(os.environ, DATABASE_URL=url, GROUNDSWELL_JWT_SECRET="m" * 40, GROUNDSWELL_PASSWORD=PW,
               RUST_LOG="warn")
    cid = run(["campaign", "create", "--name", "Measure"], env).split()[-1]
    run(["user", "create", "--campaign", cid, "--email", "admin@m.org", "--role", "admin"], env)
    return env, cid

def throttle(bases, n):
    statuses = []
    lock = threading.Lock()
    go = threading.Event()
    def one(i):
        go.wait()
        s, _ = req(bases[i % len(bases)], "POST", "/api/v1/auth/login",
                   {"email": "admin@m.org", "password": f"wrong guess {i}"})
        with lock:
            statuses.append(s)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts: t.start()
    go.set()
    for t in ts: t.join()
    return {s: statuses.count(s) for s in sorted(set(statuses))}

def main():
    backend = sys.argv[1]
    if backend == "sqlite":
        path = "/tmp/m18/m.db"
        for suffix in ["", "-wal", "-shm"]:
            try: os.remove(path + suffix)
            except FileNotFoundError: pass
        url = "sqlite://" + path
    else:
        subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc", "DROP DATABASE IF EXISTS m18 WITH (FORCE)"], check=True)
        subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qc", "CREATE DATABASE m18"], check=True)
        url = "postgres://postgres@127.0.0.1:5432/m18"
    env, cid = setup(url)
    servers = [serve(env, 18180 + i) for i in range(2)]
    bases = [b for _, b in servers]
    print(backend, "item 1: 40 simultaneous wrong passwords, one server:", throttle(bases[:1], 40))
    run(["migrate"], env)  # nothing to do; keeps the CLI path exercised
    subprocess.run(["psql", "postgres://postgres@127.0.0.1:5432/m18", "-qc", "DELETE FROM login_throttle"]) if backend != "sqlite" else subprocess.run(["sqlite3", path, "DELETE FROM login_throttle"], capture_output=True)
    print(backend, "item 1: 200 simultaneous wrong passwords, two servers:", throttle(bases, 200))
    # Item 7: accepting invites.
    s, tok = req(bases[0], "POST", "/api/v1/auth/login", {"email": "admin@m.org", "password": PW})
    if s != 200:
        # The account is throttled after item 1; sign in through a fresh admin.
        run(["user", "create", "--campaign", cid, "--email", "admin2@m.org", "--role", "admin"], env)
        s, tok = req(bases[0], "POST", "/api/v1/auth/login", {"email": "admin2@m.org", "password": PW})
    token = tok["access_token"]
    pid = servers[0][0].pid
    print(backend, "item 7: server RSS before invites:", rss(pid), "MB")
    for i in range(1, 31):
        s, made = req(bases[0], "POST", "/api/v1/users", {"email": f"v{i}@m.org", "name": f"V {i}", "role": "volunteer"}, token)
        assert s == 201, made
        s, acc = req(bases[0], "POST", "/api/v1/auth/accept-invite", {"invite_code": made["invite_code"], "password": "a long volunteer password"})
        assert s == 200, acc
        if i in (10, 30):
            print(backend, f"item 7: server RSS after {i} accepted invites:", rss(pid), "MB")
    for p, _ in servers:
        p.terminate()
        p.wait()

main()
