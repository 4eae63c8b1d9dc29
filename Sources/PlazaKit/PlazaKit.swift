/// # PlazaKit — the shared kernel
///
/// The small vocabulary every Plaza module speaks: time-ordered ids (``PlazaID``), an injectable
/// clock (``PlazaClock``), RFC 9457 problems (``Problem``, ``PlazaError``), cursor pagination
/// (``PageRequest``, ``Page``), the signed-in ``Principal``, the authorization ``Policy`` protocol,
/// the request-context protocol modules write routes against (``PlazaRequestContext``), and the
/// route description (``Endpoint``) that feeds the router, `/openapi.json` and the authorization
/// matrix from one place.
///
/// PlazaKit imports no other Plaza module; every other module imports it.
public enum PlazaKit {}
