//! Answers the members API. Routing and error mapping are `omnilake::members_api`; reads and
//! redemptions are `omnilake::aws::points`. Never plain phone or email in an answer or a log.
//!
//! Authorisation: in AWS the routes use IAM auth (API Gateway verifies SigV4 and passes the
//! caller's identity in the request context); a request without that context is refused, so a
//! route deployed without auth fails closed. The local stack has no API Gateway: there a bearer
//! token (`OMNILAKE_API_TOKEN`) stands in.

use std::time::Instant;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use omnilake::aws::points::{PointsStore, Redeemed, RedemptionRequest};
use omnilake::clock::Clock;
use omnilake::members_api::{error_for, route, ApiError, Lookup, Route};
use subtle::ConstantTimeEq;

pub struct Deps {
    pub points: PointsStore,
    pub default_country: String,
    pub auth: Auth,
    pub clock: Clock,
}

pub enum Auth {
    /// API Gateway IAM authorisation (AWS).
    Iam,
    /// `Authorization: Bearer <token>` (local stack only).
    Bearer(String),
}

impl Auth {
    pub fn from_env() -> Auth {
        match std::env::var("OMNILAKE_API_TOKEN") {
            Ok(token) if !token.trim().is_empty() => Auth::Bearer(token.trim().to_string()),
            _ => Auth::Iam,
        }
    }

    fn allows(&self, req: &Request) -> bool {
        match self {
            Auth::Bearer(token) => req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(token.as_bytes()))),
            Auth::Iam => match req.request_context_ref() {
                Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().is_some_and(|a| a.iam.is_some()),
                _ => false,
            },
        }
    }
}

pub async fn handle_request(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let path = match req.raw_http_path() {
        p if !p.is_empty() => p.to_string(),
        _ => req.uri().path().to_string(),
    };
    let (status, body, replayed) = match answer(deps, &req, &method, &path).await {
        Ok((status, body, replayed)) => (status, body, replayed),
        Err(err) => {
            if err.status >= 500 {
                tracing::error!(status = err.status, reason = %err.message, method, path, "members api failed");
            } else {
                tracing::warn!(status = err.status, reason = %err.message, method, path, "members api refused");
            }
            (err.status, err.body(), false)
        }
    };
    tracing::info!(status, method, path, elapsed_us = started.elapsed().as_micros() as u64, "members api answered");
    let mut response = Response::builder().status(status).header("content-type", "application/json");
    if replayed {
        response = response.header("idempotent-replayed", "true");
    }
    Ok(response.body(Body::from(body))?)
}

async fn answer(deps: &Deps, req: &Request, method: &str, path: &str) -> Result<(u16, String, bool), ApiError> {
    if !deps.auth.allows(req) {
        return Err(ApiError::new(401, "not authorised"));
    }
    let query: Vec<(String, String)> = req
        .query_string_parameters_ref()
        .map(|q| q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        .unwrap_or_default();
    let now = deps.clock.now();
    let points = &deps.points;
    let fail = |e| error_for(&e);
    match route(method, path, &query)? {
        Route::Member(id) => match points.member(&id, now).await.map_err(fail)? {
            Some(view) => Ok((200, json(&view), false)),
            None => Err(ApiError::new(404, format!("member {id} not found"))),
        },
        Route::Lookup(lookup) => {
            let found = match lookup {
                Lookup::Phone { phone, country } => {
                    let country = country.unwrap_or_else(|| deps.default_country.clone());
                    points.member_by_phone(&phone, &country, now).await
                }
                Lookup::Email(email) => points.member_by_email(&email, now).await,
            };
            match found.map_err(fail)? {
                Some(view) => Ok((200, json(&view), false)),
                None => Err(ApiError::new(404, "no member has that identity")),
            }
        }
        Route::Ledger { member_id, cursor, limit } => {
            if points.member(&member_id, now).await.map_err(fail)?.is_none() {
                return Err(ApiError::new(404, format!("member {member_id} not found")));
            }
            let page = points.ledger(&member_id, cursor.as_deref(), limit).await.map_err(fail)?;
            Ok((200, json(&page), false))
        }
        Route::Redeem(member_id) => {
            let key = req
                .headers()
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ApiError::new(400, "an Idempotency-Key header is required"))?;
            let body: &[u8] = match req.body() {
                Body::Text(t) => t.as_bytes(),
                Body::Binary(b) => b,
                _ => &[],
            };
            let request: RedemptionRequest = serde_json::from_slice(body).map_err(|e| {
                ApiError::new(400, format!("body must be {{\"points\": n, \"reference\": \"…\"}}: {e}"))
            })?;
            match points.redeem(&member_id, key, &request, now).await.map_err(fail)? {
                Redeemed::Done(receipt) => Ok((201, json(&receipt), false)),
                Redeemed::Replayed(receipt) => Ok((201, json(&receipt), true)),
            }
        }
    }
}

/// The answers are plain serde structs (string keys, integers): serialising cannot fail.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into())
}
