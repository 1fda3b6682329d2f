#!/usr/bin/env python3
"""deploy/compose: `docker-compose config -q` passes (with and without the
.env.example values); every service has a /healthz healthcheck, tcp://
wiring and no fixed container name or host port on the evaluators (so
`--scale evaluator=N` works); every TRAILGUARD_* variable a service sets is
a key its daemon knows (listed by --help), and each daemon accepts the
image's trailguard.yaml with the service's environment (--check-config)."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opsharness import Harness  # noqa: E402

h = Harness("compose_config")
if not shutil.which("docker-compose"):
    h.skip("docker-compose is not installed")
cdir = os.path.join(h.srcdir, "deploy", "compose")
cfile = os.path.join(cdir, "docker-compose.yml")
h.check(os.path.isfile(cfile), "no %s" % cfile)
# A developer's own .env would change the result: use a scratch project
# directory holding only what we pass.
env = dict(os.environ)
for k in list(env):
    if k.startswith("TRAILGUARD_") or k.startswith("COMPOSE_"):
        del env[k]


def compose(*args, env_file=None):
    argv = ["docker-compose", "--project-directory", cdir, "-f", cfile]
    if env_file:
        argv += ["--env-file", env_file]
    r = subprocess.run(argv + list(args), capture_output=True, text=True,
                       env=env, timeout=60)
    return r


if os.path.exists(os.path.join(cdir, ".env")):
    print("note: %s/.env exists and is read by docker-compose" % cdir)
empty_env = h.path("empty.env")
open(empty_env, "w").close()
r = compose("config", "-q", env_file=empty_env)
h.check(r.returncode == 0 and not r.stderr.strip(),
        "docker-compose config -q failed (rc %d):\n%s" % (r.returncode, r.stderr))
example = os.path.join(cdir, ".env.example")
h.check(os.path.isfile(example), "no .env.example")
r = compose("config", "-q", env_file=example)
h.check(r.returncode == 0 and not r.stderr.strip(),
        "docker-compose config -q with .env.example failed:\n%s" % r.stderr)
r = compose("config", env_file=example)
h.check(r.returncode == 0, "docker-compose config failed:\n%s" % r.stderr)

try:
    import yaml
except ImportError:
    print("ok: compose_config (structure not checked: python3-yaml missing)")
    h.done()
doc = yaml.safe_load(r.stdout)
svcs = doc.get("services", {})
h.check(set(svcs) >= {"fetcher", "parser", "evaluator", "notifier"},
        "services %s, expected fetcher, parser, evaluator, notifier" % sorted(svcs))
for name in ("fetcher", "parser", "evaluator", "notifier"):
    s = svcs[name]
    hc = s.get("healthcheck", {}).get("test", [])
    h.check(any("/healthz" in str(x) for x in hc), "%s: no /healthz healthcheck" % name)
    envs = s.get("environment", {}) or {}
    h.check(isinstance(envs, dict), "%s: environment is not a mapping" % name)
ev = svcs["evaluator"]
h.check("container_name" not in ev, "evaluator has a container_name: cannot scale")
h.check(not ev.get("ports"), "evaluator publishes host ports: cannot scale")
h.check(int(ev.get("deploy", {}).get("replicas", 1)) >= 2,
        "evaluator: deploy.replicas should default to 2 or more")
e = {n: svcs[n].get("environment", {}) for n in svcs}
h.check(e["parser"].get("TRAILGUARD_PARSER_CONNECT", "").startswith("tcp://fetcher:"),
        "parser does not connect to the fetcher over tcp://")
h.check(e["evaluator"].get("TRAILGUARD_EVALUATOR_CONNECT", "").startswith("tcp://parser:"),
        "evaluator does not connect to the parser over tcp://")
h.check(e["evaluator"].get("TRAILGUARD_EVALUATOR_NOTIFIER", "").startswith("tcp://notifier:"),
        "evaluator does not connect to the notifier over tcp://")
h.check(e["fetcher"].get("TRAILGUARD_FETCHER_ACK_ENDPOINT", "").startswith("tcp://fetcher:"),
        "the fetcher does not advertise a tcp:// ack endpoint")
vols = doc.get("volumes", {}) or {}
h.check(any("spool" in v for v in vols) and any("state" in v for v in vols),
        "no named volumes for state and spool: %s" % sorted(vols))

# The daemons accept the image's config with each service's environment.
ycfg = os.path.join(cdir, "trailguard.yaml")
missing = [s for s in ("fetcher", "parser", "evaluator", "notifier")
           if not os.access(h.exe(s), os.X_OK)]
if missing:
    print("note: daemons not built (%s): environment names not checked" %
          ", ".join(missing))
    h.done()
for name in ("fetcher", "parser", "evaluator", "notifier"):
    helptext = subprocess.run([h.exe(name), "--help"], capture_output=True,
                              text=True, timeout=10).stdout
    senv = {k: str(v) for k, v in e[name].items()}
    for k in senv:
        if k.startswith("TRAILGUARD_"):
            h.check("[%s]" % k in helptext,
                    "%s: %s is not a key trailguard-%s knows (see --help)" %
                    (name, k, name))
    cenv = dict(env)
    cenv.update(senv)
    r = subprocess.run([h.exe(name), "--check-config", "-c", ycfg],
                       capture_output=True, text=True, env=cenv, timeout=10)
    h.check(r.returncode == 0, "trailguard-%s --check-config with the %s "
            "service environment failed:\n%s" % (name, name, r.stderr))
h.done()
