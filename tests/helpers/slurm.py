"""A real one-node SLURM cluster for the cluster-sweep tests, started under a temp dir.

Debian's ``slurm-wlm`` and ``munge`` (``.ci/run`` installs them): ``munged`` runs as user
munge with a generated key, then ``slurmctld`` and ``slurmd`` with a small generated
``slurm.conf`` (``SlurmUser=root``, ``ProctrackType=proctrack/linuxproc``, ``TaskPlugin=task/none``,
one node named by ``hostname``, a partition with ``OverSubscribe=FORCE:4``), on free
loopback ports. Clients find it through ``SLURM_CONF``. Needs root (slurmd, munged's key).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from helpers import free_port

MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")


@dataclass
class Cluster:
    conf: Path
    env: dict[str, str]
    pids: list[int]

    def stop(self) -> None:
        subprocess.run(["scancel", "--user", "root"], env=self.env, capture_output=True, timeout=30)
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def squeue(self) -> list[str]:
        out = subprocess.run(
            ["squeue", "-h", "-o", "%i %T"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        return [line for line in out.splitlines() if line.strip()]

    def drained(self, timeout: float = 60.0) -> list[str]:
        """``squeue`` once it is empty, or what is still there after ``timeout`` seconds: a
        worker job of a last round finds the budget done and ends by itself, within seconds."""
        deadline = time.time() + timeout
        while (left := self.squeue()) and time.time() < deadline:
            time.sleep(1)
        return left


def why_not() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    missing = [
        b for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue") if not shutil.which(b)
    ]
    if missing:
        return (
            f"SLURM not installed ({', '.join(missing)} missing): apt-get install slurm-wlm munge"
        )
    if os.geteuid() != 0:
        return "a one-node SLURM cluster needs root (slurmd, munged's key)"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no munge user (the munge package creates it)"
    return None


def _munge_running() -> bool:
    return subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0


def _start_munge() -> None:
    if _munge_running():
        return
    if not MUNGE_KEY.exists():
        MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
        MUNGE_KEY.write_bytes(os.urandom(1024))
    munge = pwd.getpwnam("munge")
    for folder in (
        MUNGE_KEY.parent,
        Path("/var/lib/munge"),
        Path("/var/log/munge"),
        MUNGE_SOCKET.parent,
    ):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, munge.pw_uid, munge.pw_gid)
    os.chown(MUNGE_KEY, munge.pw_uid, munge.pw_gid)
    MUNGE_KEY.chmod(0o400)
    subprocess.Popen(
        ["su", "-s", "/bin/sh", "munge", "-c", "exec munged --foreground"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 20
    while time.time() < deadline and not _munge_running():
        time.sleep(0.2)
    if not _munge_running():
        raise RuntimeError("munged did not start")


def start_cluster(root: Path) -> Cluster:
    _start_munge()
    host = socket.gethostname()
    for sub in ("state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    conf = root / "slurm.conf"
    conf.write_text(f"""ClusterName=hpt
SlurmctldHost={host}
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName={host} CPUs={os.cpu_count() or 1} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run(["slurmctld", "-f", str(conf)], env=env, check=True, timeout=60)
    subprocess.run(["slurmd", "-f", str(conf)], env=env, check=True, timeout=60)
    deadline = time.time() + 60
    while time.time() < deadline:
        r = subprocess.run(
            ["srun", "-t", "1", "hostname"], env=env, capture_output=True, text=True, timeout=60
        )
        if r.returncode == 0:
            break
        time.sleep(1)
    else:
        raise RuntimeError(f"the SLURM cluster did not answer srun: {r.stderr.strip()[-500:]}")
    pids = [
        int((root / f).read_text()) for f in ("slurmctld.pid", "slurmd.pid") if (root / f).exists()
    ]
    return Cluster(conf, env, pids)
