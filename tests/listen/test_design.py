"""wavegen listen: test designs (MUSHRA, ACR, AB, ABX) from folders and files, and the results folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tests.listening import live_server, participant_session
from wavegen import listen
from wavegen.errors import WavegenError
from wavegen.listen.design import load_design
from wavegen.listen.store import AnswerStore


def test_mushra_from_a_folder_has_hidden_reference_and_anchors(samples, tmp_path):
    test = listen.open_test(samples, results=tmp_path / "r", mid_anchor=True)
    assert test.type == "mushra" and [t["name"] for t in test.trials] == ["samples/u1", "samples/u2"]
    for trial in test.trials:
        systems = {s["system"] for s in trial["stimuli"]}
        assert systems == {"noisy", "enhanced", "reference", "anchor-3.5kHz", "anchor-7kHz"}
        audio = {s["system"]: sf.read(test.folder / s["file"]) for s in trial["stimuli"]}
        reference, rate = sf.read(test.folder / trial["reference"])
        assert {a.shape for a, _ in audio.values()} == {reference.shape} and {r for _, r in audio.values()} == {rate}
        np.testing.assert_allclose(audio["reference"][0], reference, atol=1e-4)   # the hidden reference is it

        def share_above(x, hz):
            power = np.abs(np.fft.rfft(x)) ** 2
            return power[np.fft.rfftfreq(x.size, 1 / rate) > hz].sum() / power.sum()
        assert share_above(reference, 5000) > 0.005
        assert share_above(audio["anchor-3.5kHz"][0], 5000) < 1e-2 * share_above(reference, 5000)
        assert share_above(audio["anchor-7kHz"][0], 7700) < 0.1 * share_above(reference, 7700)
        assert share_above(audio["anchor-7kHz"][0], 4000) > 0.8 * share_above(reference, 4000)


def test_acr_and_ab_designs_from_a_folder(samples):
    acr = load_design(samples, "acr")
    assert len(acr.trials) == 6 and all(len(t.stimuli) == 1 for t in acr.trials)
    ab = load_design(samples, "ab")
    assert [sorted(t.stimuli) for t in ab.trials] == [["enhanced", "noisy"]] * 2
    assert all(t.reference.name.endswith("_clean.wav") for t in ab.trials)


def test_stimuli_are_opaque_and_the_order_is_per_participant(mushra):
    with live_server(mushra) as port:
        first, again, other = participant_session(port, "p1"), participant_session(port, "p1"), participant_session(port, "p2")
    assert first == again                                   # the same order on every visit
    orders = [[k["key"] for t in s["trials"] for k in t["stimuli"]] for s in (first, other)]
    assert sorted(orders[0]) == sorted(orders[1])
    text = json.dumps(first)
    assert not any(word in text for word in ("noisy", "enhanced", "anchor", "u1", "u2"))


def test_a_test_file_in_yaml(samples, tmp_path):
    spec = tmp_path / "test.yaml"
    spec.write_text("name: mine\ntype: ab\ntrials:\n  - name: one\n    stimuli: {a: samples/u1_noisy.wav, "
                    "b: samples/u1_enhanced.wav}\n")
    test = listen.open_test(spec, results=tmp_path / "r")
    assert (test.name, test.type, len(test.trials)) == ("mine", "ab", 1)
    assert test.trials[0]["reference"] is None


@pytest.mark.parametrize("text, problem", [
    ("type: mushra\ntrials:\n  - stimuli: {a: ../outside.wav}\n    reference: samples/u1_clean.wav\n", "outside"),
    ("type: mushra\ntrials:\n  - stimuli: {a: samples/missing.wav}\n    reference: samples/u1_clean.wav\n",
     "no such file"),
    ("type: opinion\ntrials:\n  - stimuli: {a: samples/u1_noisy.wav}\n", "unknown test type"),
    ("type: mushra\ntrials:\n  - stimuli: {a: samples/u1_noisy.wav}\n", "needs a reference"),
    ("type: mushra\ntrials:\n  - reference: samples/u1_clean.wav\n    stimuli: {"
     + ", ".join(f"s{i}: samples/u1_noisy.wav" for i in range(11)) + "}\n", "at most 12"),
    ("type: mushra\ntrials:\n  - reference: samples/u1_clean.wav\n    stimuli: {reference: samples/u1_noisy.wav}\n",
     "not allowed"),
    ("type: ab\ntrials:\n  - stimuli: {a: samples/u1_noisy.wav}\n", "exactly two"),
    ("type: ab\nextra: 1\ntrials: []\n", "unknown keys"),
    ("[unclosed", "not a readable test file"),
])
def test_a_bad_test_file_is_refused_with_its_name(samples, tmp_path, text, problem):
    (tmp_path / "outside.wav").write_bytes((samples / "u1_noisy.wav").read_bytes())
    spec = tmp_path / "test.yaml"
    spec.write_text(text)
    with pytest.raises(WavegenError, match=problem) as caught:
        listen.open_test(spec, results=tmp_path / "r")
    assert str(spec) in str(caught.value)
    assert not (tmp_path / "r").exists()


def test_the_results_folder_is_reused_for_the_same_test_and_refused_for_another(samples, tmp_path):
    first = listen.open_test(samples, results=tmp_path / "r")
    AnswerStore(first.database).answer("p", first.trials[0]["name"], "k", "noisy", score=40)
    again = listen.open_test(samples, results=tmp_path / "r")
    assert again.secret == first.secret and len(AnswerStore(again.database).rows()) == 1
    assert listen.open_test(tmp_path / "r").trials == first.trials          # a results folder continues
    sf.write(samples / "u1_noisy.wav", np.zeros(800), 16000)
    with pytest.raises(WavegenError, match="different test"):
        listen.open_test(samples, results=tmp_path / "r")
    with pytest.raises(WavegenError, match="not a listening-test results folder"):
        listen.open_test(samples, results=samples)
    assert len(AnswerStore(first.database).rows()) == 1


def test_a_results_path_that_is_a_file_or_a_broken_test_is_one_line(samples, tmp_path):
    from tests.support import assert_one_line
    taken = tmp_path / "taken"
    taken.write_text("my notes")
    with pytest.raises(WavegenError) as caught:
        listen.open_test(samples, results=taken)
    assert_one_line(caught, str(taken), "--results")
    assert taken.read_text() == "my notes"
    broken = tmp_path / "broken"
    broken.mkdir()
    for text, needle in (("{not json", "test.json"), ("[1, 2]", "test.json"), ('{"name": "x"}', "different test")):
        (broken / "test.json").write_text(text)
        with pytest.raises(WavegenError) as caught:
            listen.open_test(samples, results=broken)
        assert_one_line(caught, needle, "--results")
        assert (broken / "test.json").read_text() == text
