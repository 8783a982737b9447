//! `handshake`: the sender's endpoint challenge — Slack's
//! `url_verification`, Zoom's `endpoint.url_validation`, Discord's PING
//! (interactions or Webhook Events), Okta's verification `GET` — sent as
//! the sender sends it (signed the provider's way) and judged as the sender
//! judges the answer (`generators::challenge`: 200 with the echo, Zoom's
//! HMAC or Discord's PONG; 204 for a Webhook Events PING).
//!
//! The same challenge is then sent with a wrong secret: Discord sends such
//! PINGs when the URL is saved and later, and removes an endpoint that does
//! not answer 401; a Zoom receiver answering an unsigned validation hands
//! anyone HMAC(secret token, text of their choice), which is the MAC that
//! signs Zoom's events (`v0:{ts}:{body}`). Slack's and Okta's answers only
//! echo, so there an answered forgery is INFO (`levels::TABLE`).
//!
//! Providers that declare no challenge skip the check.

use bytes::Bytes;
use generators::{Challenge, EventType};
use reports::CheckResult;

use super::{CheckId, Context, Probe, ResultBuilder, Seen};
use crate::clock::{now_unix, now_unix_ms};

/// Sends the provider's challenge, then the badly signed one.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    let mut v = ResultBuilder::new(CheckId::Handshake, "*");
    let Some(challenge) = ctx.profile().challenge else {
        v.skip(format!(
            "{} declares no endpoint challenge",
            ctx.plan.provider.name()
        ));
        return vec![v.finish()];
    };
    let ty = challenge_type(ctx, challenge);

    let token = format!("{:032x}", ctx.fresh_bits());
    let probe = send(ctx, &ty, challenge, "challenge", &token, false).await;
    let judged = judge(ctx, challenge, &token, &probe);
    v.judge_seen(
        ctx,
        &probe,
        judged.0,
        format!("{}{}", challenge.noun(), judged.1),
    );

    let token = format!("{:032x}", ctx.fresh_bits());
    let variant = format!("bad signature: {}", challenge.name());
    let forged = send(ctx, &ty, challenge, &variant, &token, true).await;
    let seen = judge(ctx, challenge, &token, &forged).0;
    v.judge_seen(
        ctx,
        &forged,
        seen,
        format!("{} signed with a wrong secret", challenge.noun()),
    );
    vec![v.finish()]
}

/// The challenge as the "event type" its probe is filed and timed under:
/// named after the request, with the provider's deadline (Zoom: 3 s).
fn challenge_type(ctx: &Context, challenge: Challenge) -> EventType {
    let name = match challenge {
        Challenge::SlackUrlVerification => "url_verification",
        Challenge::ZoomUrlValidation => "endpoint.url_validation",
        Challenge::DiscordPing | Challenge::DiscordWebhookPing => "PING",
        Challenge::OktaVerification => "verification",
    };
    EventType {
        provider: ctx.plan.provider.name().to_string(),
        name: name.to_string(),
        blocking: false,
        description: challenge.noun().to_string(),
        schema: serde_json::json!({}),
    }
}

/// Sends the challenge carrying `token`, signed like every delivery of the
/// provider (`forged`: with a wrong secret instead).
async fn send(
    ctx: &Context,
    ty: &EventType,
    challenge: Challenge,
    variant: &str,
    token: &str,
    forged: bool,
) -> Probe {
    let request = challenge.request(token, now_unix_ms());
    let msg_id = ctx.fresh_message_id();
    let signed = if forged {
        let wrong = generators::signature_cases(&ctx.profile().scheme)
            .into_iter()
            .find(|c| c.label == "wrong-secret")
            .expect("every scheme has a wrong-secret case");
        generators::apply_case(
            &wrong,
            &ctx.signer,
            &ctx.plan.secret,
            &request.body,
            &msg_id,
            now_unix(),
        )
    } else {
        generators::envelope(
            ctx.profile(),
            &ctx.signer,
            request.body.clone(),
            &msg_id,
            now_unix(),
        )
    };
    let mut headers = signed.headers;
    if request.method == "GET" {
        // A GET has no body, so no content type.
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
    }
    headers.extend(request.headers);
    ctx.send_request(
        ty,
        variant,
        request.method,
        headers,
        Bytes::from(signed.body),
    )
    .await
}

/// What the table sees, and what the message adds: a success status
/// without the answer the sender checks is [`Seen::WrongAnswer`].
fn judge(ctx: &Context, challenge: Challenge, token: &str, probe: &Probe) -> (Seen, String) {
    let seen = ctx.seen(probe);
    let Ok(answer) = &probe.answer else {
        return (seen, String::new());
    };
    match challenge.judge(&ctx.plan.secret, token, answer.status, &answer.body) {
        Ok(()) => (seen, String::new()),
        Err(why) if seen == Seen::Accepted => (Seen::WrongAnswer, format!(" ({why})")),
        Err(why) => (seen, format!(" ({why})")),
    }
}
