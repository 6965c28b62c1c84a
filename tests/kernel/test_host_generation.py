"""kernel.host_generation: a value every process of the host sees change at once."""

import subprocess
import sys

from kernel.host_generation import HostGeneration


def test_a_change_in_another_process_is_seen_by_a_mapping_made_before_it(tmp_path):
    path = tmp_path / "cache" / "g"
    here = HostGeneration(path)
    before = here.read()
    assert before is not None and len(before) == 8
    code = "import sys; from kernel.host_generation import HostGeneration; HostGeneration(sys.argv[1]).change()"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    after = here.read()
    assert after != before
    assert here.read() == after  # stable until the next change


def test_each_change_gives_a_new_value_and_two_mappings_agree(tmp_path):
    first, second = HostGeneration(tmp_path / "g"), HostGeneration(tmp_path / "g")
    seen = {first.read()}
    for _ in range(5):
        second.change()
        assert first.read() == second.read()
        seen.add(first.read())
    assert len(seen) == 6


def test_a_file_that_cannot_be_made_turns_the_memory_copies_off_without_an_error(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    generation = HostGeneration(blocker / "g")
    assert generation.read() is None
    generation.change()  # nothing to change, no error
    assert generation.read() is None
    assert "unusable" in caplog.text
