"""lvm.health parse and judge layers, on vgs/lvs/pvs/lvmconfig output of lvm2 2.03.16.

The session-*.txt and config-*.txt samples are real output of the collect script
in a Debian 12 container (metadata only, nothing activated); reconstructed-*.txt
take one of them and edit the fields only an active device-mapper fills in (see
tests/data/lvm/FORMATS.md).
"""


import pytest

from runbooks.core.errors import ParseError, TargetError, UsageError
from runbooks.core.findings import Severity
from runbooks.lvm import size_bytes, split_pool, vg_names
from runbooks.lvm.collect import LV_FIELDS, PV_FIELDS, SCRIPT, VG_FIELDS, interpret
from runbooks.lvm.judge import SELECTION, Thresholds, judge_state
from runbooks.lvm.parse import LvmConfig, parse_config, parse_session
from tests import helpers

DATA = helpers.DATA / "lvm"


def state(name: str):
    return interpret("host", (DATA / name).read_text())


def judged(name: str, limits: Thresholds | None = None):
    return {f.subject: f for f in judge_state("host", state(name), limits or Thresholds())}


def worst(findings) -> Severity:
    return max(f.severity for f in findings.values())


def test_script_asks_for_every_field_the_parser_reads():
    for fields in (VG_FIELDS, LV_FIELDS, PV_FIELDS):
        assert f"-o {fields};" in SCRIPT
    for name in ("data_percent", "metadata_percent", "lv_health_status", "raid_mismatch_count",
                 "lv_when_full", "seg_monitor", "lv_check_needed", "sync_percent"):
        assert name in LV_FIELDS.split(",")


def test_inactive_session_is_parsed_one_lv_per_name():
    lvm = state("session-inactive.txt")
    assert [v.name for v in lvm.vgs] == ["vgdata", "vgmiss"]
    # lvs printed two rows for the two-segment LV "plain"; one LV remains.
    assert [lv.name for lv in lvm.lvs if lv.vg == "vgdata"] == [
        "mir", "plain", "pool", "pool2", "r1", "thin1"]
    pool = lvm.lv("vgdata", "pool")
    assert pool.is_thin_pool and pool.data_percent is None and pool.state == "inactive"
    assert pool.size == 512 * 2**20 and pool.metadata_size == 8 * 2**20
    assert pool.when_full == "queue" and lvm.lv("vgdata", "pool2").when_full == "error"
    assert lvm.lv("vgdata", "thin1").pool == "pool"
    assert lvm.lv("vgdata", "plain").state == "unknown"  # lv_attr 'X': no device-mapper
    assert lvm.vg("vgdata").free_extents == 679 and lvm.vg("vgdata").extent_size == 4 * 2**20
    assert lvm.config == LvmConfig(100, 20, True) and not lvm.config.autoextend_on


def test_inactive_volumes_are_reported_not_crashed_on():
    findings = judged("session-inactive.txt")
    assert worst(findings) is Severity.WARN  # only the legacy mirror
    assert "no usage figures" in findings["vgdata/pool"].message
    assert findings["vgdata/pool"].severity is Severity.OK
    assert "sync state unknown" in findings["vgdata/r1"].message
    assert findings["vgdata/mir"].severity is Severity.WARN
    assert "lvconvert --type raid1 vgdata/mir" in findings["vgdata/mir"].message


def test_missing_pv_is_critical_for_the_vg_and_its_partial_lvs():
    lvm = state("session-missing-pv.txt")
    vg = lvm.vg("vgmiss")
    assert vg.missing_pv_count == 1 and vg.partial
    assert [p.name for p in lvm.pvs if p.missing] == ["[unknown]"]
    findings = judged("session-missing-pv.txt")
    assert findings["vgmiss"].severity is Severity.CRIT
    assert findings["vgmiss"].message.startswith("1 of 2 PVs missing")
    assert findings["vgmiss/safe"].severity is Severity.CRIT
    assert findings["vgmiss/scratch"].severity is Severity.CRIT
    assert "partial" in findings["vgmiss/scratch"].message
    assert findings["vgmiss/home"].severity is Severity.OK  # its extents are on the PV left
    assert findings["vgdata"].severity is Severity.OK


def test_pool_at_95_percent_is_critical_and_at_50_percent_ok_with_defaults():
    high, half = judged("reconstructed-active-95.txt"), judged("reconstructed-active-50.txt")
    assert high["vgdata/pool"].severity is Severity.CRIT
    assert "data 95.0 %" in high["vgdata/pool"].message
    assert "vgdata has 2.7 GiB free" in high["vgdata/pool"].message
    assert worst(high) is Severity.CRIT
    assert half["vgdata/pool"].severity is Severity.OK and worst(half) is Severity.OK
    assert "12.5 % mapped" in half["vgdata/thin1"].message


def test_thresholds_move_the_verdict():
    findings = judged("reconstructed-active-95.txt", Thresholds(data_warn=96, data_crit=99))
    assert findings["vgdata/pool"].severity is Severity.OK
    findings = judged("reconstructed-active-50.txt", Thresholds(data_warn=50, data_crit=60))
    assert findings["vgdata/pool"].severity is Severity.WARN


def test_queue_without_autoextend_says_writes_hang():
    message = judged("reconstructed-active-50.txt")["vgdata/pool"].message
    assert "autoextend off" in message and "writes queue (60 s by default), then fail" in message
    assert "writes fail at once" in judged("reconstructed-active-50.txt")["vgdata/pool2"].message


def test_monitoring_off_warns_for_every_thin_pool():
    lvm = state("config-monitoring-off.txt")
    assert lvm.config == LvmConfig(80, 20, False) and lvm.config.autoextend_on
    findings = judged("config-monitoring-off.txt")
    for pool in ("vgdata/pool", "vgdata/pool2"):
        assert findings[pool].severity is Severity.WARN
        assert "nothing extends it" in findings[pool].message
    assert findings["vgdata/plain"].severity is Severity.OK


def test_autoextend_with_an_unmonitored_pool_warns():
    lvm = state("reconstructed-active-50.txt")
    lvm.config = LvmConfig(80, 20, True)
    assert judge_state("h", lvm, Thresholds())[2].severity is Severity.OK  # monitored
    text = (DATA / "reconstructed-active-50.txt").read_text().replace(
        '"seg_monitor":"monitored"', '"seg_monitor":"not monitored"')
    lvm = parse_session(text)
    lvm.config = LvmConfig(80, 20, True)
    pool = {f.subject: f for f in judge_state("h", lvm, Thresholds())}["vgdata/pool"]
    assert pool.severity is Severity.WARN and "not monitored" in pool.message


def test_degraded_sample_resync_mismatch_and_needs_check():
    findings = judged("reconstructed-degraded.txt")
    r1 = findings["vgdata/r1"]
    assert r1.severity is Severity.WARN and "resyncing 37.5 % (recover)" in r1.message
    safe = findings["vgmiss/safe"]
    assert safe.severity is Severity.WARN
    assert "mismatches exist" in safe.message and "128 mismatches" in safe.message
    pool2 = findings["vgdata/pool2"]
    assert pool2.severity is Severity.CRIT
    assert "metadata_read_only" in pool2.message
    # Metadata at 100 %: grow it, do not repair it (thin-metadata-full experiment).
    assert "metadata full: deactivate the pool and grow its metadata" in pool2.message
    assert pool2.page == "runbooks/thin-pool-full/#metadata-full"
    pool = findings["vgdata/pool"]  # data 71.2 % is fine, metadata 88.0 % is not
    assert pool.severity is Severity.CRIT and "metadata 88.0 % of 8.0 MiB (>= 85 %)" in pool.message


def test_config_lines_and_missing_settings():
    assert parse_config("monitoring=0\n") == LvmConfig(None, None, False)
    assert parse_config("") == LvmConfig()


def test_failed_report_names_the_command_and_the_reason():
    with pytest.raises(TargetError, match=r"^host: vgs failed with exit status 5: "
                       r"/run/lock/lvm/P_global:aux: open failed: Permission denied "
                       r"\(LVM reports need root\)$"):
        interpret("host", (DATA / "session-non-root.txt").read_text(),
                  (DATA / "session-non-root.stderr").read_text())
    text = (DATA / "session-inactive.txt").read_text()
    with pytest.raises(ParseError, match="lvs: not a JSON report"):
        parse_session(text.replace('"lv": [', '"lv": [[', 1))
    with pytest.raises(TargetError, match="lvm2 is not installed"):
        interpret("host", "BP-MISSING lvm2\n")


@pytest.mark.parametrize("text", ["vg", "vg/", "/lv", "vg/-lv", "vg/l v", "vg/$(id)", "a/b/c",
                                  "vg/..", "-vg/lv"])
def test_bad_pool_names_are_refused(text):
    with pytest.raises(UsageError):
        split_pool(text)


def test_pool_names_and_sizes():
    assert split_pool("vg_data/pool-1.x+") == ("vg_data", "pool-1.x+")
    assert size_bytes("1G", "--size") == ("+1G", 2**30)
    assert size_bytes("+2.5m", "--size") == ("+2.5m", int(2.5 * 2**20))
    assert size_bytes("100", "--size") == ("+100", 100 * 2**20)  # no unit: MiB, as lvextend
    for bad in ("-1G", "1Q", "1 G", "", "0", "1G;reboot", "+1e3G"):
        with pytest.raises(UsageError):
            size_bytes(bad, "--size")


# Real captures from the vm-lvm lab (Debian 12 kernel with device-mapper, lvm2 2.03.16):
# VG lab on vdb+vdc, thin pool lab/pool (100 MiB) with lab/thin1, raid1 lab/mirror1.


def test_real_pool_at_50_percent_is_ok():
    findings = judged("vm-active-50.txt")
    assert worst(findings) is Severity.OK
    pool = findings["lab/pool"]
    assert "data 50.0 %" in pool.message and "when full: writes queue" in pool.message
    assert findings["lab/mirror1"].severity is Severity.OK


def test_real_pool_at_95_percent_is_critical_and_named():
    findings = judged("vm-active-95.txt")
    pool = findings["lab/pool"]
    assert pool.severity is Severity.CRIT
    assert pool.message.startswith("data 95.0 % of 100 MiB (>= 90 %)")
    assert [s for s, f in findings.items() if f.severity is Severity.CRIT] == ["lab/pool"]


def test_real_disk_pulled_out_makes_the_vg_and_its_lvs_critical():
    findings = judged("vm-missing-pv.txt")
    crit = {s for s, f in findings.items() if f.severity is Severity.CRIT}
    assert {"lab/mirror1", "lab/pool"} <= crit
    assert any("missing" in f.message for f in findings.values() if f.severity is Severity.CRIT)


def test_real_full_pool_is_critical_and_links_the_full_pool_runbook():
    # The pool of the thin-pool-full page after dd wrote past it (error when full).
    pool = judged("vm-out-of-data.txt")["lab/pool"]
    assert pool.severity is Severity.CRIT
    assert "; out_of_data;" in pool.message and "when full: writes fail at once" in pool.message
    assert pool.page == "runbooks/thin-pool-full/#data-full"


def test_real_full_metadata_says_grow_not_repair():
    # 20 snapshots written until the 4 MiB of metadata ran out (thin-metadata-full setup).
    pool = judged("vm-metadata-full.txt")["lab/mpool"]
    assert pool.severity is Severity.CRIT
    assert "metadata 100.0 % of 4.0 MiB (>= 85 %); metadata_read_only; metadata full: " \
        "deactivate the pool and grow its metadata (lvextend --poolmetadatasize); " \
        "lvconvert --repair fails on metadata that is only full" in pool.message
    assert pool.page == "runbooks/thin-pool-full/#metadata-full"


def test_real_pool_after_growing_its_metadata_inactive_is_ok():
    findings = judged("vm-metadata-grown.txt")
    assert worst(findings) is Severity.OK
    assert "metadata 40.0 % of 12.0 MiB" in findings["lab/mpool"].message


def test_damaged_metadata_points_to_repair_not_growth():
    # Read-only metadata with room left is not "full": that is what --repair is for.
    text = (DATA / "vm-metadata-full.txt").read_text().replace(
        '"metadata_percent":"100.00"', '"metadata_percent":"60.00"')
    pool = {f.subject: f for f in judge_state("h", parse_session(text), Thresholds())}["lab/mpool"]
    assert pool.severity is Severity.CRIT
    assert "metadata check needed: lvconvert --repair with the pool inactive" in pool.message
    assert "grow its metadata" not in pool.message


def test_health_character_names_match_lv_health_status():
    # lv_attr's 9th character and lv_health_status must say the same thing.
    text = (DATA / "vm-out-of-data.txt").read_text().replace(
        '"lv_health_status":"out_of_data"', '"lv_health_status":""')
    pool = {f.subject: f for f in judge_state("h", parse_session(text), Thresholds())}["lab/pool"]
    assert pool.severity is Severity.CRIT and "; out_of_data;" in pool.message


# No false green: a host or a --vg where nothing was found to look at is UNKNOWN.


def test_no_volume_group_is_unknown_not_ok():
    findings = judge_state("host", state("vm-no-vg.txt"), Thresholds())
    assert [(f.check, f.severity, f.message) for f in findings] == [
        (SELECTION, Severity.UNKNOWN, "no volume group found (vgs lists none): nothing to check")]


def test_a_pv_outside_any_vg_is_named_when_there_is_no_vg():
    text = (DATA / "vm-vg-no-lv.txt").read_text()
    lvm = parse_session(text)
    lvm.vgs = []
    lvm.pvs = [pv.__class__(pv.name, "", pv.attr, pv.size, pv.free, pv.missing)
               for pv in lvm.pvs]
    (finding,) = judge_state("host", lvm, Thresholds())
    assert finding.severity is Severity.UNKNOWN
    assert finding.message == ("no volume group found (vgs lists none; 1 PV in no VG): "
                               "nothing to check")


def test_a_vg_without_lvs_is_ok_its_pvs_were_checked():
    # Decided: the VG's PVs and free space were looked at, so this is a real OK.
    findings = judge_state("host", state("vm-vg-no-lv.txt"), Thresholds())
    assert [(f.subject, f.severity) for f in findings] == [("lab", Severity.OK)]
    assert findings[0].message == "1 PV, 0 LVs, 1020 MiB free of 1020 MiB"


def test_a_vg_without_a_thin_pool_is_ok():
    # Decided: lvm.health is not only about thin pools; linear and raid LVs are judged.
    findings = {f.subject: f for f in judge_state("host", state("session-inactive.txt"),
                                                  Thresholds(), ["vgmiss"])}
    assert set(findings) == {"vgmiss", "vgmiss/home", "vgmiss/safe", "vgmiss/scratch"}
    assert all(f.severity is Severity.OK for f in findings.values())


def test_vg_filter_keeps_the_named_vg_and_unknown_for_a_name_that_matches_none():
    findings = judge_state("host", state("vm-active-50.txt"), Thresholds(), ["lab", "data"])
    by_check = [(f.check, f.subject, f.severity) for f in findings]
    assert by_check[0] == (SELECTION, "", Severity.UNKNOWN)
    assert findings[0].message == "no volume group named data (found: lab)"
    assert {s for c, s, _ in by_check[1:]} == {"lab", "lab/pool", "lab/thin1", "lab/mirror1"}
    assert all(sev is Severity.OK for _, _, sev in by_check[1:])
    only_other = judge_state("host", state("vm-active-50.txt"), Thresholds(), ["data"])
    assert [(f.severity, f.message) for f in only_other] == [
        (Severity.UNKNOWN, "no volume group named data (found: lab)")]


def test_healthy_default_stays_ok_with_the_new_rules():
    # The 50 % pool of the lvm-health page, every VG, no filter: OK as before.
    findings = judge_state("host", state("vm-active-50.txt"), Thresholds())
    assert {f.severity for f in findings} == {Severity.OK}
    assert not [f for f in findings if f.check == SELECTION]


def test_empty_output_is_an_error_naming_the_missing_report():
    with pytest.raises(TargetError, match=r"^host: no vgs report in the output: no output$"):
        interpret("host", "")


@pytest.mark.parametrize("text", ["", ",", "lab,-x", "a b"])
def test_vg_option_must_name_volume_groups(text):
    with pytest.raises(UsageError, match=r"^--vg must name volume groups"):
        vg_names(text)


def test_vg_option_names():
    assert vg_names(None) is None
    assert vg_names("lab, vg_data") == ["lab", "vg_data"]
