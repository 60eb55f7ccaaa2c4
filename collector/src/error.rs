//! The API's one error type; `status_code` is the only map from error to status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("content type must be text/plain or application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Invalid(String),
    #[error("unknown site key")]
    UnknownSite,
    #[error("origin not allowed for this site")]
    OriginNotAllowed,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("rate limit exceeded for this {scope}; retry after {retry_after_secs} s")]
    RateLimited {
        scope: &'static str,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("ingest queue is full; retry later")]
    Overloaded,
    #[error("service not ready")]
    NotReady,
    #[error("request body not received within {ms} ms")]
    BodyTimeout { ms: u64 },
    #[error("the database is unreachable; retry later")]
    DatabaseUnavailable,
    #[error("internal error")]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Malformed(_) => "malformed_json",
            ApiError::Invalid(_) => "invalid_beacon",
            ApiError::UnknownSite => "unknown_site",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::NotFound(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Overloaded => "overloaded",
            ApiError::NotReady => "not_ready",
            ApiError::BodyTimeout { .. } => "body_timeout",
            ApiError::DatabaseUnavailable => "database_unavailable",
            ApiError::Unexpected(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if crate::storage::is_transient(&e) {
            return ApiError::DatabaseUnavailable;
        }
        ApiError::Unexpected(e.into())
    }
}

impl ApiError {
    /// Errors that reached a handler through `anyhow` (verdict, reports) are
    /// mapped here: a database that cannot be reached is a 503 the caller can
    /// retry, not an internal error.
    pub(crate) fn normalised(&self) -> Option<ApiError> {
        let ApiError::Unexpected(e) = self else {
            return None;
        };
        e.chain()
            .filter_map(|c| c.downcast_ref::<sqlx::Error>())
            .any(crate::storage::is_transient)
            .then_some(ApiError::DatabaseUnavailable)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        if let Some(e) = self.normalised() {
            return e.status_code();
        }
        match self {
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Malformed(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnknownSite | ApiError::OriginNotAllowed => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Overloaded | ApiError::NotReady | ApiError::DatabaseUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(e) = self.normalised() {
            if let ApiError::Unexpected(cause) = self {
                tracing::warn!(error = %cause, "database unreachable");
            }
            return e.error_response();
        }
        if let ApiError::Unexpected(e) = self {
            // Full cause chain in the log only; the client gets a generic message.
            tracing::error!(error = ?e, "request failed");
        }
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            ApiError::Overloaded | ApiError::DatabaseUnavailable => {
                resp.insert_header(("Retry-After", "5"));
            }
            ApiError::RateLimited {
                retry_after_secs, ..
            } => {
                resp.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            _ => {}
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
        })
    }
}
