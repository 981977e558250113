// Loaded between require.js and the ipywidgets html-manager (embed-amd.js) on pages with widget state.
// The html-manager bundle finds its icon fonts relative to the URL that require.js gives its module;
// without a `paths` entry that URL is the page's own folder, where the fonts are not. Point require.js
// at the folder that really holds the bundle: the vendored copy next to this file, or the one named
// by data-html-manager-dist (the CDN fallback, see book/_ext/floq_assets.py).
(function () {
  var me = document.currentScript;
  var dist = (me && me.getAttribute("data-html-manager-dist")) || new URL("floq_vendor/html-manager", me.src).href;
  window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": dist.replace(/\/$/, "") } });
})();
