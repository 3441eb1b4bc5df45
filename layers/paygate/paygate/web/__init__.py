"""The web foundation of the pages the stack serves (hosted checkout, the console).

Server-rendered HTML from Jinja2 templates (autoescaped), static assets shipped with the
function (no CDN at run time), one set of security headers with a strict Content-Security-Policy
(no inline script or style), and Simplified Chinese or English from Accept-Language.
"""
