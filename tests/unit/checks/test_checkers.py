"""Each host checker against psutil results we build: the status and message a person reads."""

from __future__ import annotations

from psutil._ntuples import sdiskusage, snetio, sswap, svmem

from agents.checks import checkers
from agents.checks.config import CpuCheck, DiskCheck, MemoryCheck, NetworkCheck, ProcessCheck
from agents.checks.host import ProcInfo

GIB = 1024 ** 3
MIB = 1024 ** 2


def _vm(percent: float, total: int = 16 * GIB) -> svmem:
    available = int(total * (100 - percent) / 100)
    return svmem(total, available, percent, total - available, available, 0, 0, 0, 0, 0, 0)


def _swap(percent: float, total: int = 4 * GIB) -> sswap:
    used = int(total * percent / 100)
    return sswap(total, used, total - used, percent, 0, 0)


def _io(errin=0, errout=0, dropin=0, dropout=0) -> snetio:
    return snetio(0, 0, 0, 0, errin, errout, dropin, dropout)


def test_grade_is_fail_at_critical_warn_at_warning_ok_below():
    assert checkers.grade(95.0, 85, 95) == ("fail", 95)
    assert checkers.grade(85.0, 85, 95) == ("warn", 85)
    assert checkers.grade(84.9, 85, 95) == ("ok", None)
    assert checkers.grade(1e9, None, None) == ("ok", None)


def test_cpu_busy_over_the_sample_is_graded_with_both_thresholds():
    cfg = CpuCheck(warning_threshold=70, critical_threshold=90)
    assert checkers.cpu(50.0, cfg).status == "ok"
    warn = checkers.cpu(75.0, cfg, load1=6.0, cores=4)
    assert (warn.status, warn.threshold) == ("warn", 70)
    assert warn.metrics == {"cpu_percent": 75.0, "load1_per_core": 1.5}
    fail = checkers.cpu(93.5, cfg)
    assert fail.status == "fail" and fail.message == "cpu 93.5% busy (warning at 70%, critical at 90%)"


def test_memory_and_swap_the_worse_one_decides():
    cfg = MemoryCheck(warning_threshold=80, critical_threshold=90, swap_warning_threshold=40, swap_critical_threshold=70)
    ok = checkers.memory(_vm(50), _swap(10), cfg)
    assert ok.status == "ok" and ok.metrics["swap_percent"] == 10.0
    by_swap = checkers.memory(_vm(50), _swap(75), cfg)
    assert (by_swap.status, by_swap.value, by_swap.threshold) == ("fail", 75, 70)
    by_ram = checkers.memory(_vm(85), _swap(0), cfg)
    assert (by_ram.status, by_ram.value) == ("warn", 85)
    assert "memory 85.0% used (2,458 MiB available)" in by_ram.message  # 15 % of 16 GiB


def test_memory_without_swap_ignores_it():
    cfg = MemoryCheck(swap=False)
    out = checkers.memory(_vm(10), _swap(99), cfg)
    assert out.status == "ok" and "swap_percent" not in out.metrics
    # A host with no swap at all is not graded on it either.
    assert checkers.memory(_vm(10), _swap(0, total=0), MemoryCheck()).status == "ok"


def test_disk_space_and_inodes_per_mount():
    cfg = DiskCheck(warning_threshold=80, critical_threshold=90, inode_warning_threshold=70, inode_critical_threshold=95)
    usage = sdiskusage(100 * GIB, 50 * GIB, 50 * GIB, 50.0)
    ok = checkers.disk("/var", usage, (1000, 900), cfg)
    assert ok.check == "disk:/var" and ok.status == "ok" and ok.metrics["inodes_percent"] == 10.0
    inodes = checkers.disk("/var", usage, (1000, 250), cfg)  # 75 % of inodes used
    assert (inodes.status, inodes.value, inodes.threshold) == ("warn", 75.0, 70)
    full = checkers.disk("/", sdiskusage(100 * GIB, 92 * GIB, 8 * GIB, 92.0), None, cfg)
    assert full.status == "fail"
    assert full.message == "disk / 92.0% used (8.0 GiB free) (warning at 80%, critical at 90%)"


def test_network_errors_and_drops_per_minute_between_two_readings():
    cfg = NetworkCheck(warning_threshold=10, critical_threshold=100)
    before = _io(errin=100, dropin=50)
    # 30 s later: 4 more errors and 2 more drops -> 8 errors/min + 4 drops/min = 12/min.
    out = checkers.network("eth0", before, _io(errin=103, errout=1, dropin=52), 30.0, cfg)
    assert out.check == "net:eth0" and out.status == "warn" and out.value == 12.0
    assert out.metrics == {"errors_per_min": 8.0, "drops_per_min": 4.0}
    # A counter reset (driver reload) is not a negative rate.
    assert checkers.network("eth0", before, _io(), 60.0, cfg).status == "ok"
    assert checkers.network("eth0", _io(), _io(errin=60), 6.0, cfg).status == "fail"  # 600/min


def test_reachability_of_a_target():
    cfg = NetworkCheck(connect_warning_ms=200)
    down = checkers.reachability("db:5432", None, "Connection refused", cfg)
    assert down.status == "fail" and down.message == "db:5432 unreachable: Connection refused"
    assert checkers.reachability("db:5432", 12.0, "", cfg).status == "ok"
    assert checkers.reachability("db:5432", 350.0, "", cfg).status == "warn"


def test_process_running_rss_and_restarts():
    cfg = ProcessCheck(warning_threshold=100, critical_threshold=500)
    missing, start = checkers.process("nginx", [], None, cfg)
    assert missing.status == "fail" and missing.message == "process nginx is not running" and start is None
    procs = [ProcInfo(10, 40 * MIB, 1000.0), ProcInfo(11, 30 * MIB, 1001.0)]
    first, start = checkers.process("nginx", procs, None, cfg)
    assert first.status == "ok" and first.metrics == {"running": 2.0, "rss_mib": 70.0, "restarts": 0.0}
    assert start == 1000.0
    same, _ = checkers.process("nginx", procs, start, cfg)
    assert same.metrics["restarts"] == 0.0
    restarted, start2 = checkers.process("nginx", [ProcInfo(20, 40 * MIB, 2000.0)], start, cfg)
    assert restarted.status == "warn" and restarted.metrics["restarts"] == 1.0 and start2 == 2000.0
    assert "restarted since the last check" in restarted.message
    big, _ = checkers.process("nginx", [ProcInfo(20, 600 * MIB, 2000.0)], 2000.0, cfg)
    assert (big.status, big.value) == ("fail", 600.0)
