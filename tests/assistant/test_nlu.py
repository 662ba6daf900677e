"""Understanding one message: intent, bundle, confidence; rules for what must never be missed."""
import subprocess
import sys
import zipfile

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from assistant import nlu
from assistant.nlu import entry, model_store
from assistant.normalize import normalize
from services.catalogue import seed as catalogue_seed

HELD_OUT = nlu.DATA.parent / "eval" / "utterances.yaml"


@pytest.fixture(scope="module")
def understander():
    catalogue = catalogue_seed.read_catalogue()
    return nlu.understander(nlu.terms_from_catalogue(catalogue["bundles"], catalogue["matters"]))


@pytest.mark.parametrize("text, intent, bundle", [
    ("我媳妇前天生了个儿子，后面要办啥", "explore_bundle", "newborn"),
    ("We are expecting to marry in June, how do we register?", "explore_bundle",
     "marriage_childbearing"),
    ("給孩子報名上小學需要準備什麼材料", "ask_materials", "school_enrollment"),
    ("帮我把幼儿园入园申请提交了", "apply", "kindergarten_admission"),
    ("我那个上牌的申请弄好没有", "check_status", "vehicle_registration"),
    ("谢谢啦", "greet_thanks", None),
    ("明天杭州天气如何", "out_of_scope", None),
])
def test_typical_messages_are_understood(understander, text, intent, bundle):
    result = understander.understand(text)
    assert (result.intent, result.bundle) == (intent, bundle)


@pytest.mark.parametrize("text", ["转人工", "轉人工客服", "人工!!", "我要投诉", "找你们领导",
                                  "talk to a human", "Real person please", "get me an agent",
                                  "zhuan rengong", "你们机器人听不懂，我要找人"])
def test_asking_for_a_person_is_always_a_handoff(understander, text):
    result = understander.understand(text)
    assert result.intent == "handoff_human"
    assert result.confidence == 1.0


# Phrasings of a request for a person written for the rules' tests (not evaluation texts).
ASKS_FOR_A_PERSON = [
    "能帮我转一下人工吗", "我想和你们工作人员通个电话", "我要求人工介入", "叫个懂行的人来",
    "麻烦让负责这块的领导联系我", "机器人答非所问，我要找人", "请安排工作人员回电",
    "你们这是什么服务态度，投诉", "我已经打了市长热线", "有没有人能接一下", "有人回复一下吗",
    "在线客服呢", "我要见你们科长", "不要机器人回答，要真人", "不用转人工了我要投诉",
    "i want a human agent", "put me in touch with a real person", "please have someone contact me",
    "i want to escalate this", "can i get a callback", "is a human available?",
    "connect to live support", "let me talk to a manager", "anybody around to help?",
    "i want to lodge a complaint", "need a person asap", "wo yao tou su", "zhao ren gong",
]
NOT_ASKING_FOR_A_PERSON = [
    "人工智能是什么", "你是真人吗", "工作人员什么时候审核", "办好了工作人员会通知我吗",
    "有人说新生儿可以在医院办", "家里有人去世了", "我要举办婚礼，结婚登记怎么办",
    "负责审批的是哪个部门", "human resources bureau", "is the human papillomavirus vaccine free",
    "how do agents process my application", "what is a legal representative",
    "my agent said my car is ready", "the operator of the shop is my wife",
    "will you contact me when it is done",
]


@pytest.mark.parametrize("text", ASKS_FOR_A_PERSON)
def test_every_usual_way_to_ask_for_a_person_meets_a_rule(text):
    assert nlu._handoff_rule(normalize(text)) in {"handoff_zh", "handoff_en"}


@pytest.mark.parametrize("text", NOT_ASKING_FOR_A_PERSON)
def test_words_near_a_request_for_a_person_are_not_one(text):
    assert nlu._handoff_rule(normalize(text)) in {None, nlu.NEGATED}


def test_saying_no_person_is_needed_is_not_a_handoff(understander):
    assert understander.understand("不用转人工，我自己来").intent != "handoff_human"
    assert understander.understand("human resources bureau").rule is None
    for text in ("不用转人工，我自己来", "我不需要人工客服", "别找客服了，我自己看",
                 "no need for a human, thanks"):
        assert understander.understand(text).intent != "handoff_human", text


def test_closing_a_shop_is_deregistration_not_opening_one(understander):
    assert understander.understand("小卖部不开了，执照怎么办").bundle == "business_deregistration"
    assert understander.understand("想开个小卖部").bundle == "small_shop_registration"


def test_a_document_of_one_event_does_not_make_another_event(understander):
    result = understander.understand("给宝宝上户口要带结婚证吗")
    assert (result.intent, result.bundle) == ("ask_materials", "newborn")


def test_a_new_catalogue_synonym_is_recognized_without_retraining():
    before = nlu.understander().understand("我要办添丁喜事联办")
    terms = {"newborn": [("添丁喜事", 3.0)]}
    after = nlu.understander(terms).understand("我要办添丁喜事联办")
    assert before.bundle is None
    assert after.bundle == "newborn"


def test_an_application_number_in_the_message_is_a_status_question(understander):
    result = understander.understand("6b0aaf9bec81f5ef04f678ae 这个怎么样了")
    assert result.intent == "check_status"
    assert result.application_id == "6b0aaf9bec81f5ef04f678ae"


def test_a_message_with_nothing_known_in_it_has_no_confidence(understander):
    result = understander.understand("☃☃ ✈︎")
    assert (result.intent, result.confidence) == ("out_of_scope", 0.0)


def test_the_fast_scorer_gives_exactly_the_trained_pipeline_scores():
    examples = nlu.load_examples(nlu.DATA / "training.yaml")
    pipeline = nlu._build_pipeline(2.0).fit([normalize(t) for t, _, _ in examples],
                                            [i for _, i, _ in examples])
    scorer = nlu.LinearScorer(pipeline)
    for text in ("我刚生了孩子", "where is my application", "ok"):
        expected = pipeline.decision_function([normalize(text)])[0]
        assert max(abs(a - b) for a, b in zip(scorer.scores(normalize(text)), expected,
                                              strict=True)) < 1e-9


def test_training_twice_gives_the_same_answers():
    examples = nlu.load_examples(nlu.DATA / "training.yaml")
    first = nlu.Understander(examples, nlu.load_lexicon())
    second = nlu.Understander(examples, nlu.load_lexicon())
    for text in ("刚提车怎么上牌", "I want a person", "开店要多久"):
        assert first.understand(text) == second.understand(text)


def test_every_label_in_the_data_is_one_of_the_contract():
    for path in (nlu.DATA / "training.yaml", nlu.DATA / "eval.yaml", HELD_OUT):
        for _, intent, bundle in nlu.load_examples(path):
            assert intent in nlu.INTENTS
            assert bundle is None or bundle in nlu.BUNDLES


@pytest.mark.parametrize("path", [nlu.DATA / "eval.yaml", HELD_OUT])
def test_the_evaluation_sets_share_no_text_with_the_training_examples(path):
    training = {normalize(t) for t, _, _ in nlu.load_examples(nlu.DATA / "training.yaml")}
    shared = [t for t, _, _ in nlu.load_examples(path) if normalize(t) in training]
    assert shared == []


def test_the_held_out_set_is_large_and_covers_every_label():
    examples = nlu.load_examples(HELD_OUT)
    assert len(examples) >= 600
    assert {i for _, i, _ in examples} == set(nlu.INTENTS)
    assert {b for _, _, b in examples} == set(nlu.BUNDLES) | {None}
    assert sum(1 for _, i, _ in examples if i == "handoff_human") >= 60


@pytest.mark.parametrize("kind", ["chars", "words"])
def test_the_analyzers_compute_exactly_the_features_scikit_learn_computes(kind):
    reference = TfidfVectorizer(lowercase=False, **nlu.FEATURE_BLOCKS[kind]).build_analyzer()
    mine = nlu._analyzer(kind)
    texts = [normalize(t) for t, _, _ in nlu.load_examples(nlu.DATA / "training.yaml")]
    for text in texts + ["", "a", "§", "  two  spaces ", "办 § 要带什么 材料", "ok then apply"]:
        assert mine(text) == reference(text), text


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(model_store, "MODEL_DIR", tmp_path)
    return tmp_path


def test_a_stored_model_understands_exactly_as_the_trained_one(model_dir):
    path, trained = nlu.build()
    loaded = nlu.load_model(path, nlu.load_lexicon(), nlu._fingerprint())
    for text in ("刚提车怎么上牌", "I want a person", "开店要多久", "xinshenger yao ban shenme",
                 "我的申请到哪了", "谢谢"):
        assert loaded.understand(text) == trained.understand(text)


def test_a_stored_model_of_other_inputs_or_altered_is_not_used(model_dir):
    path, _ = nlu.build()
    with pytest.raises(nlu.ModelMismatch):
        nlu.load_model(path, nlu.load_lexicon(), "another fingerprint")

    altered = model_dir / "altered.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(altered, "w") as target:
        for name in source.namelist():
            raw = source.read(name)
            target.writestr(name, raw[:-8] + b"\0" * 8 if name == "intent_coef.f8" else raw)
    with pytest.raises(nlu.ModelMismatch):
        nlu.load_model(altered, nlu.load_lexicon(), nlu._fingerprint())


def test_without_a_stored_model_the_process_trains_and_stores_one(model_dir, monkeypatch):
    monkeypatch.setattr(entry, "_base_understander", entry._base_understander.__wrapped__)
    assert not list(model_dir.iterdir())
    first = entry._base_understander()
    assert nlu.model_path().exists()
    assert entry._base_understander().understand("我要上牌") == first.understand("我要上牌")


def test_loading_the_stored_model_needs_neither_scikit_learn_nor_numpy(model_dir):
    nlu.build()
    script = ("import sys; from assistant import nlu; nlu.MODEL_DIR = __import__('pathlib')"
              f".Path({str(model_dir)!r}); nlu.understand('宝宝出生了要办什么'); "
              "print(sorted(m for m in ('sklearn', 'numpy', 'pypinyin') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=nlu.DATA.parent.parent)
    assert out.stdout.strip() == "[]"
