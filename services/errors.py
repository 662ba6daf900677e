"""Domain errors: what a rule refuses, with a stable slug and a message in both languages."""
from common.i18n import current_locale


class DomainError(Exception):
    status_code = 400
    error = "bad_request"
    default_en = "The request cannot be processed."
    default_zh = "请求无法处理。"

    def __init__(self, en: str | None = None, zh: str | None = None, *, error: str | None = None,
                 errors: dict | None = None, headers: dict | None = None, **params):
        self.en = (en or self.default_en).format(**params) if params else (en or self.default_en)
        self.zh = (zh or self.default_zh).format(**params) if params else (zh or self.default_zh)
        if en and not zh:
            self.zh = self.en  # better the English text than a generic Chinese one
        if error:
            self.error = error
        self.errors = errors or {}
        self.headers = headers or {}
        super().__init__(self.en)

    @property
    def message(self) -> str:
        return self.zh if current_locale.get() == "zh-CN" else self.en


class BadRequest(DomainError):
    status_code, error = 400, "bad_request"


class Unauthorized(DomainError):
    status_code, error = 401, "unauthorized"
    default_en, default_zh = "Authentication is required.", "需要登录。"


class Forbidden(DomainError):
    status_code, error = 403, "forbidden"
    default_en, default_zh = "You may not do this.", "无权执行此操作。"


class NotFound(DomainError):
    status_code, error = 404, "not_found"
    default_en, default_zh = "Not found.", "未找到。"


class InvalidState(DomainError):
    status_code, error = 409, "invalid_state"
    default_en = "This cannot be done in the current state."
    default_zh = "当前状态下无法执行此操作。"


class PreconditionFailed(DomainError):
    status_code, error = 412, "precondition_failed"
    default_en, default_zh = "The resource has changed.", "资源已被修改。"


class PayloadTooLarge(DomainError):
    status_code, error = 413, "payload_too_large"
    default_en, default_zh = "The upload is too large.", "上传内容过大。"


class UnsupportedMediaType(DomainError):
    status_code, error = 415, "unsupported_media_type"
    default_en, default_zh = "This file type is not accepted.", "不支持该文件类型。"


class ValidationFailed(DomainError):
    status_code, error = 422, "validation_failed"
    default_en, default_zh = "Some fields are not valid.", "部分字段无效。"


class PreconditionRequired(DomainError):
    status_code, error = 428, "precondition_required"
    default_en, default_zh = "A required header is missing.", "缺少必需的请求头。"


class TooManyRequests(DomainError):
    status_code, error = 429, "too_many_requests"
    default_en, default_zh = "Too many requests; try again later.", "请求过于频繁，请稍后再试。"

    def __init__(self, *args, retry_after: int = 60, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers["Retry-After"] = str(max(1, int(retry_after)))


class ServiceUnavailable(DomainError):
    status_code, error = 503, "service_unavailable"
    default_en, default_zh = "The service is temporarily unavailable.", "服务暂时不可用。"

    def __init__(self, *args, retry_after: int = 5, **kwargs):
        super().__init__(*args, **kwargs)
        # Every 503 tells the client when to come back.
        self.headers.setdefault("Retry-After", str(retry_after))
