"""The journal: one directory per approval id, steps on disk before anything runs."""

from __future__ import annotations

from agents.executor.journal import JOURNAL_FILE, Journal, run_dir


def test_each_approval_id_has_its_own_directory_inside_the_root(tmp_path):
    ids = ["inc-1:fix:1", "inc-1_fix_1", "../../etc/passwd", "/abs", "..", ""]
    dirs = [run_dir(tmp_path, i) for i in ids]
    assert len(set(dirs)) == len(ids)
    for d in dirs:
        assert d.parent == tmp_path and d.name not in ("", ".", "..") and "/" not in d.name
    assert dirs[0].name.startswith("inc-1_fix_1-")
    assert run_dir(tmp_path, "inc-1:fix:1") == dirs[0]  # the same id, the same directory, always


def test_started_without_finished_reads_as_interrupted(tmp_path):
    journal = Journal(tmp_path / "a")
    assert journal.read().started is None and not journal.read().interrupted
    journal.write("started", argv=["true"], dry_run=False)
    assert journal.read().interrupted
    journal.write("finished", status="ok", exit_status=0)
    state = journal.read()
    assert not state.interrupted and state.finished["status"] == "ok"


def test_a_line_torn_by_a_crash_is_a_step_that_did_not_happen(tmp_path):
    journal = Journal(tmp_path / "a")
    journal.prepare()
    (journal.directory / JOURNAL_FILE).write_text('{"step": "started", "dry_ru')
    assert journal.read().started is None
    journal.write("started", dry_run=True)  # appended after the torn line
    assert journal.read().interrupted
