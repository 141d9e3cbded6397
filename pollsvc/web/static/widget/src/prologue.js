/*! pollsvc widget. Embed:
 *   <div data-pollsvc-article="ARTICLE_ID" data-lang="vi"></div>   (or data-pollsvc-poll="ID")
 *   <script src="https://POLLS.EXAMPLE/widget.js" async></script>
 * Each poll renders in an open shadow root. Data is only ever inserted as text.
 * Source: pollsvc/web/static/widget/src/, joined in the order WIDGET_MODULES gives
 * (pollsvc/web/widget.py) inside this one function: nothing leaks but the guard below.
 */
(function () {
"use strict";
if (window.__pollsvcWidget) return; // the snippet pasted twice on one page
window.__pollsvcWidget = true;
