// Copy buttons: a button with data-copy="<input id>" copies that input.
// Everything else in the user interface works without this script.
document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-copy]");
  if (!b) return;
  var input = document.getElementById(b.getAttribute("data-copy"));
  if (!input) return;
  input.select();
  var done = function () { b.textContent = "Copied"; };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// htmx (htmx.min.js, loaded before this script) boosts the links and forms
// of the user and admin interfaces: <body hx-boost="true" hx-target="#page">
// fetches the next page with HX-Request, the server answers with its
// <title> and the inside of #page only, and htmx swaps that in and pushes
// the URL. What follows keeps that to navigations inside one interface and
// looks after focus.
(function () {
  // area is the part of a path that names the interface: "/if/admin",
  // "/if/user", "/flows/-", ...
  function area(path) {
    return path.split("/").slice(0, 3).join("/");
  }

  // inside reports whether url is a page of this page's interface.
  function inside(url) {
    var u = new URL(url, location.href);
    return u.origin === location.origin && area(u.pathname) === area(location.pathname);
  }

  // A link or form that leaves the interface (the other interface, a flow,
  // sign out, an application, another site) or downloads a file is not
  // boosted: the browser loads it as usual. The templates mark the fixed
  // ones with hx-boost="false"; this catches links made from data (launch
  // URLs, flow links, notification links).
  document.addEventListener("htmx:beforeProcessNode", function (e) {
    var el = e.target;
    if (el.hasAttribute("hx-boost")) return;
    if (el instanceof HTMLAnchorElement && el.getAttribute("href")) {
      if (el.hasAttribute("download") || !inside(el.href)) el.setAttribute("hx-boost", "false");
    } else if (el instanceof HTMLFormElement) {
      if (!inside(el.action)) el.setAttribute("hx-boost", "false");
    }
  });

  // An answer from somewhere else (a form whose redirect leaves the
  // interface, as starting an impersonation does, or the sign-in page once
  // the session has ended) or that is not a page (a download) is not
  // swapped in: the browser loads it instead.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var x = e.detail.xhr;
    var type = x.getResponseHeader("Content-Type") || "";
    if (x.responseURL && (!inside(x.responseURL) || type.indexOf("text/html") !== 0)) {
      e.preventDefault();
      location.assign(x.responseURL);
    }
  });

  // After a boosted navigation htmx scrolls to the top (hx-swap
  // "show:window:top"). Keyboard focus, which was on the link or button
  // that is now gone, moves to the first field the server marked invalid
  // (a form answered with its errors), else to <main> (focusable, not in
  // the tab order), so the next Tab continues in the new content and a
  // screen reader reads it. htmx fires afterSettle once per swapped
  // element: act once per answer, and after htmx's own scrolling.
  var settled = null;
  document.addEventListener("htmx:afterSettle", function (e) {
    if (!e.detail.boosted || e.detail.xhr === settled) return;
    settled = e.detail.xhr;
    setTimeout(function () {
      var main = document.getElementById("main");
      if (!main) return;
      var invalid = main.querySelector('[aria-invalid="true"]');
      if (invalid) {
        invalid.focus();
        return;
      }
      var active = document.activeElement;
      if (active && active !== document.body && main.contains(active)) return; // htmx kept focus on a field of the new page
      main.setAttribute("tabindex", "-1");
      main.focus({ preventScroll: true });
    }, 0);
  });
})();
