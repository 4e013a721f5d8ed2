use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or a server-side failure: the operation did not take effect, try
    /// again later.
    #[error("DynamoDB is temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything else (permissions, a missing table, a malformed item).
    #[error("DynamoDB request failed: {0}")]
    Failed(String),
    #[error("stored item could not be read: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// Sorts an SDK error into transient or not. Throttling, timeouts, lost connections and
    /// 5xx answers are transient, and so is a plain write refused because a transaction was
    /// writing the same item at that moment (`TransactionConflictException`: the sender's
    /// stamp on a profile while a webhook's transaction writes it, say).
    pub fn from_sdk<E: ProvideErrorMetadata + std::fmt::Debug>(
        err: &SdkError<E, HttpResponse>,
    ) -> Self {
        const TRANSIENT_CODES: [&str; 9] = [
            "ThrottlingException",
            "TransactionConflictException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
            "TransactionInProgressException",
            "LimitExceededException",
            "TooManyRequestsException",
        ];
        match err {
            SdkError::TimeoutError(_) => StoreError::Unavailable("timeout".into()),
            SdkError::DispatchFailure(f) => StoreError::Unavailable(format!(
                "dispatch failure (timeout: {}, io: {})",
                f.is_timeout(),
                f.is_io()
            )),
            SdkError::ResponseError(_) => StoreError::Unavailable("unreadable response".into()),
            SdkError::ServiceError(ctx) => {
                let code = ctx.err().code().unwrap_or("unknown");
                if TRANSIENT_CODES.contains(&code) || ctx.raw().status().is_server_error() {
                    StoreError::Unavailable(code.to_owned())
                } else {
                    StoreError::Failed(format!("{code}: {}", ctx.err().message().unwrap_or("")))
                }
            }
            other => StoreError::Failed(format!("{other:?}")),
        }
    }
}

/// A conditional write's answer: `Ok(true)` when it was applied, `Ok(false)` when its condition
/// refused it (for these writes an answer, not a failure), else the store's error.
pub(crate) fn condition_applied<T, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(err) => Err(StoreError::from_sdk(&err)),
    }
}
