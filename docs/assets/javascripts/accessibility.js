// Accessibility fixes the theme does not make, found by the axe-core audit in
// tools/browser_check.py. document$ is the theme's: it emits on every page load.
document$.subscribe(function () {
  // The search overlay is a dialog, and a dialog needs a name.
  document.querySelectorAll('.md-search[role="dialog"]').forEach(function (dialog) {
    dialog.setAttribute("aria-label", "Search");
  });
  // A table wider than the page scrolls: keyboard users must be able to reach it.
  document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (wrap) {
    wrap.setAttribute("tabindex", "0");
  });
});
