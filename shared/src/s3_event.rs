//! S3 event notifications as they arrive in an SQS message body, parsed leniently: real S3 and
//! moto differ (moto omits `userIdentity`, `sequencer`, … and sends an `s3:TestEvent` first), so
//! only the fields omnilake uses are read.

use serde::Deserialize;

/// One object named by a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub size: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
#[error("message is not an S3 notification: {0}")]
pub struct NotS3Event(String);

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
    #[serde(rename = "Event", default)]
    event: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Part,
}

#[derive(Deserialize)]
struct S3Part {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
    #[serde(default)]
    size: Option<u64>,
}

/// The created objects an SQS message body names. A test event yields none.
pub fn created_objects(body: &str) -> Result<Vec<ObjectRef>, NotS3Event> {
    let n: Notification = serde_json::from_str(body).map_err(|e| NotS3Event(e.to_string()))?;
    if n.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if n.records.is_empty() {
        return Err(NotS3Event("no Records".into()));
    }
    Ok(n.records
        .into_iter()
        .filter(|r| r.event_name.starts_with("ObjectCreated"))
        .map(|r| ObjectRef { bucket: r.s3.bucket.name, key: decode_key(&r.s3.object.key), size: r.s3.object.size })
        .collect())
}

/// S3 URL-encodes keys in notifications (`+` for space); moto encodes `/` too.
pub fn decode_key(key: &str) -> String {
    let spaced = key.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_moto_style_records_with_encoded_slashes() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
            "s3":{"bucket":{"name":"b"},"object":{"key":"raw%2Fplatform%3Dshopify%2Fa+b.json","size":12}}}]}"#;
        let objs = created_objects(body).expect("parse");
        assert_eq!(
            objs,
            vec![ObjectRef { bucket: "b".into(), key: "raw/platform=shopify/a b.json".into(), size: Some(12) }]
        );
    }

    #[test]
    fn test_events_yield_nothing_and_junk_is_an_error() {
        assert!(created_objects(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#)
            .expect("test event")
            .is_empty());
        assert!(created_objects("not json").is_err());
        assert!(created_objects("{}").is_err());
    }

    #[test]
    fn deletions_are_ignored() {
        let body =
            r#"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;
        assert!(created_objects(body).expect("parse").is_empty());
    }
}
