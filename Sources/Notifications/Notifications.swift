/// # Notifications — telling people what happened, on the channels they chose
///
/// The seeds' user-based and system-based notifications, e-mail and SMS on operations, push through a
/// queue, and the operators' "notification statuses" screen:
///
/// - A ``NotificationRequest`` names an ``Audience`` (accounts, a role, an organisation, everyone), a template
///   and its data. ``NotificationService/notify(_:dedupeKey:caller:in:)`` stores it in the caller's transaction
///   and a job fans it out: one inbox row per person (pushed live on `user:<id>`) and one delivery per outside
///   channel the person's preferences allow.
/// - Templates (``NotificationTemplates``) are Mustache, in English and Ukrainian, chosen by the recipient's
///   locale; e-mail goes out as text and HTML.
/// - Channels: the in-app inbox, e-mail over SMTP (``SMTPClient``: STARTTLS, AUTH PLAIN/LOGIN), SMS through a
///   Twilio-style HTTP API with signed status callbacks, and Web Push (VAPID, RFC 8291 encryption).
/// - Every delivery is a row whose state moves queued → sent, or failed → retrying → … → given up, with
///   every attempt recorded; a delivery that was sent is never sent again (the job checks first; an e-mail's
///   `Message-ID` is derived from the delivery, so a receiving server can tell a repeat).
/// - Preferences per person × category × channel, with defaults per category and quiet hours in the person's
///   time zone (outside messages wait until the quiet hours end); security notices cannot be turned off.
/// - Identity's events (codes, invitations, sign-ins from a new device) become notifications through work
///   subscriptions of the outbox, so they are sent exactly once even when the event is handled twice.
public enum NotificationsModule {}
