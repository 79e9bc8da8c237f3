// autopost.js submits the page's form at once: the SAML IdP posting a
// signed answer to an app. The page's button does the same for a browser
// that runs no script.
"use strict";
document.getElementById("post-form").submit();
