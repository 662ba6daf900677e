"""Clean-up before understanding: one script, one width, one case, common typos fixed."""
import opencc

from assistant.normalize import detect_locale, normalize


def test_traditional_characters_become_simplified():
    assert normalize("新生兒出生要辦什麼手續") == "新生儿出生要办什么手续"


def test_full_width_letters_digits_and_punctuation_become_half_width():
    assert normalize("ＡＢＣ１２３？") == "abc123?"


def test_common_typos_are_fixed_in_both_languages():
    assert normalize("幼儿圆报名要带身分证吗") == "幼儿园报名要带身份证吗"
    assert normalize("kindergarden registeration docs") == "kindergarten registration documents"


def test_correct_text_is_left_alone():
    assert normalize("我想给孩子上户口") == "我想给孩子上户口"
    assert normalize("Business licence for my shop") == "business license for my shop"


def test_repeated_punctuation_and_spaces_collapse():
    assert normalize("转人工！！！   快点") == "转人工! 快点"


def test_the_language_of_a_message_is_told_from_its_script():
    assert detect_locale("I just had a baby") == "en"
    assert detect_locale("我想 apply newborn") == "zh-CN"
    assert detect_locale("ok") is None
    assert detect_locale("123") is None


def test_traditional_conversion_uses_the_maintained_opencc_package():
    assert hasattr(opencc, "OpenCC") and opencc.__version__  # PyPI `opencc`, not the old port
    assert normalize("我的申請辦到哪了，為什麼還在等待") == "我的申请办到哪了,为什么还在等待"
    assert normalize("寶寶報戶口要準備什麼") == "宝宝报户口要准备什么"
