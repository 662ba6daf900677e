"""Optional rephrasing of an already grounded answer by an OpenAI-compatible chat API.

Off unless ASSISTANT_LLM_ENABLED. The model may only reword: an answer whose numbers, codes or
names of things changed is thrown away and the grounded text is said as it was. Any failure
(timeout, error, odd answer) falls back to the grounded text too.
"""
import logging
import re
from collections.abc import Mapping

import requests

log = logging.getLogger(__name__)

# What must survive a rewording unchanged: numbers, dates, codes, ids.
FACTS = re.compile(r"[A-Za-z]*\d[\w:./*-]*")
SYSTEM = {
    "zh-CN": "你是政务服务助手的润色器。只改写措辞，使其更自然亲切；不得增加、删除或改变任何事实、"
             "数字、日期、编号、部门或材料名称。只输出改写后的中文文本。",
    "en": "You polish the wording of a government service assistant's reply. Reword it to sound "
          "natural and friendly; never add, remove or change any fact, number, date, reference, "
          "department or document name. Output only the reworded English text.",
}


def enabled(config: Mapping) -> bool:
    return bool(config.get("ASSISTANT_LLM_ENABLED") and config.get("ASSISTANT_LLM_BASE_URL"))


def _facts(text: str) -> list[str]:
    return sorted(FACTS.findall(text))


def keeps_facts(original: str, reworded: str) -> bool:
    """The same numbers and codes, no more, no fewer; a sane length."""
    if not reworded.strip() or len(reworded) > 2 * len(original) + 200:
        return False
    return _facts(original) == _facts(reworded)


def rephrase(text: str, locale: str, config: Mapping) -> str:
    """The text reworded by the configured model, or the text itself."""
    if not enabled(config) or not text.strip():
        return text
    url = config["ASSISTANT_LLM_BASE_URL"].rstrip("/") + "/chat/completions"
    headers = {"Content-Type": "application/json"}
    if config.get("ASSISTANT_LLM_API_KEY"):
        headers["Authorization"] = f"Bearer {config['ASSISTANT_LLM_API_KEY']}"
    body = {
        "model": config.get("ASSISTANT_LLM_MODEL") or "default",
        "temperature": 0,
        "messages": [{"role": "system", "content": SYSTEM.get(locale, SYSTEM["en"])},
                     {"role": "user", "content": text}],
    }
    try:
        response = requests.post(url, json=body, headers=headers,  # nosec B113  # timeout on the next line
                                 timeout=float(config.get("ASSISTANT_LLM_TIMEOUT") or 3.0))
        response.raise_for_status()
        reworded = response.json()["choices"][0]["message"]["content"].strip()
    except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as exc:
        log.warning("rephrasing skipped: %s", type(exc).__name__)
        return text
    if not keeps_facts(text, reworded):
        log.warning("rephrasing discarded: it changed the facts")
        return text
    return reworded
