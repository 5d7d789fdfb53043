//! `members-api` routes and answers, as plain functions: which route a request is, and how
//! each outcome becomes an HTTP status and JSON body (the function only does I/O).

use serde_json::json;

use crate::aws::points::PointsError;

/// A recognised request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /members?phone=…[&country=CN]` or `?email=…`.
    Lookup(Lookup),
    /// `GET /members/{id}`.
    Member(String),
    /// `GET /members/{id}/ledger?cursor=…&limit=…`.
    Ledger { member_id: String, cursor: Option<String>, limit: i32 },
    /// `POST /members/{id}/redemptions`.
    Redeem(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Phone { phone: String, country: Option<String> },
    Email(String),
}

/// A request no route takes, as its HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub available_points: Option<i64>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), available_points: None }
    }

    pub fn body(&self) -> String {
        let mut body = json!({ "error": self.message });
        if let Some(available) = self.available_points {
            body["available_points"] = json!(available);
        }
        body.to_string()
    }
}

const DEFAULT_LEDGER_PAGE: i32 = 50;
const MAX_LEDGER_PAGE: i32 = 500;

/// Reads the route from the method, the path (anything before `/members` is ignored: the
/// API stage or a local Lambda URL prefix) and the query pairs (already percent-decoded).
pub fn route(method: &str, path: &str, query: &[(String, String)]) -> Result<Route, ApiError> {
    // The `/members` segment itself, not a prefix like `/members-api`.
    let at = path.match_indices("/members").map(|(i, _)| i).find(|&i| {
        let rest = &path[i + "/members".len()..];
        rest.is_empty() || rest.starts_with('/')
    });
    let Some(at) = at else {
        return Err(ApiError::new(404, "no such route"));
    };
    let segments: Vec<&str> = path[at..].trim_end_matches('/').split('/').skip(1).collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let valid_id =
        |id: &str| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let route = match (method, segments.as_slice()) {
        ("GET", ["members"]) => match (param("phone"), param("email")) {
            (Some(phone), None) => Route::Lookup(Lookup::Phone { phone, country: param("country") }),
            (None, Some(email)) => Route::Lookup(Lookup::Email(email)),
            _ => return Err(ApiError::new(400, "give exactly one of `phone` or `email`")),
        },
        ("GET", ["members", id]) if valid_id(id) => Route::Member((*id).to_string()),
        ("GET", ["members", id, "ledger"]) if valid_id(id) => {
            let limit = match param("limit") {
                None => DEFAULT_LEDGER_PAGE,
                Some(l) => l
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_LEDGER_PAGE).contains(l))
                    .ok_or_else(|| ApiError::new(400, format!("limit must be 1–{MAX_LEDGER_PAGE}")))?,
            };
            Route::Ledger { member_id: (*id).to_string(), cursor: param("cursor"), limit }
        }
        ("POST", ["members", id, "redemptions"]) if valid_id(id) => Route::Redeem((*id).to_string()),
        (_, ["members"] | ["members", _] | ["members", _, "ledger"] | ["members", _, "redemptions"]) => {
            return Err(ApiError::new(405, "method not allowed (or a malformed member id)"));
        }
        _ => return Err(ApiError::new(404, "no such route")),
    };
    Ok(route)
}

/// How a points failure answers.
pub fn error_for(err: &PointsError) -> ApiError {
    match err {
        PointsError::MemberNotFound(id) => ApiError::new(404, format!("member {id} not found")),
        PointsError::Insufficient { available } => ApiError {
            status: 409,
            message: format!("only {available} points are available"),
            available_points: Some(*available),
        },
        PointsError::KeyReused(key) => {
            ApiError::new(422, format!("Idempotency-Key `{key}` was already used with another request body"))
        }
        PointsError::Invalid(reason) => ApiError::new(400, reason.clone()),
        PointsError::Contended(_) => ApiError::new(503, "busy, retry with the same Idempotency-Key"),
        PointsError::Storage(_) | PointsError::Corrupt(_) => ApiError::new(500, "internal error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn routes_are_read_behind_any_prefix() {
        assert_eq!(route("GET", "/lambda-url/members-api/members/mem_1", &[]), Ok(Route::Member("mem_1".into())));
        assert_eq!(route("GET", "/prod/members/mem_1/", &[]), Ok(Route::Member("mem_1".into())));
        assert_eq!(
            route("GET", "/members", &q(&[("phone", "+86 138"), ("country", "CN")])),
            Ok(Route::Lookup(Lookup::Phone { phone: "+86 138".into(), country: Some("CN".into()) }))
        );
        assert_eq!(
            route("GET", "/members", &q(&[("email", "a@b.c")])),
            Ok(Route::Lookup(Lookup::Email("a@b.c".into())))
        );
        assert_eq!(
            route("GET", "/members/mem_1/ledger", &q(&[("cursor", "abc"), ("limit", "10")])),
            Ok(Route::Ledger { member_id: "mem_1".into(), cursor: Some("abc".into()), limit: 10 })
        );
        assert_eq!(route("POST", "/members/mem_1/redemptions", &[]), Ok(Route::Redeem("mem_1".into())));
    }

    #[test]
    fn bad_requests_get_their_status() {
        assert_eq!(route("GET", "/members", &[]).map_err(|e| e.status), Err(400));
        assert_eq!(route("GET", "/members", &q(&[("phone", "1"), ("email", "a@b")])).map_err(|e| e.status), Err(400));
        assert_eq!(route("DELETE", "/members/mem_1", &[]).map_err(|e| e.status), Err(405));
        assert_eq!(route("GET", "/members/../etc", &[]).map_err(|e| e.status), Err(404));
        assert_eq!(route("GET", "/members/a%20b", &[]).map_err(|e| e.status), Err(405));
        assert_eq!(route("GET", "/orders", &[]).map_err(|e| e.status), Err(404));
        assert_eq!(route("GET", "/members/m/ledger", &q(&[("limit", "0")])).map_err(|e| e.status), Err(400));
    }

    #[test]
    fn points_errors_map_to_statuses_with_the_available_balance_on_409() {
        let e = error_for(&PointsError::Insufficient { available: 42 });
        assert_eq!(e.status, 409);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&e.body()).ok().map(|b| b["available_points"].clone()),
            Some(json!(42))
        );
        assert_eq!(error_for(&PointsError::KeyReused("k".into())).status, 422);
        assert_eq!(error_for(&PointsError::MemberNotFound("m".into())).status, 404);
        assert_eq!(error_for(&PointsError::Invalid("x".into())).status, 400);
    }
}
