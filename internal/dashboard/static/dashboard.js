// Bahasha dashboard: live updates over server-sent events, and showing only
// the Sandbox reply fields that fit the chosen type. Every page works
// without this script.
(function () {
  'use strict';

  // An element with data-stream="URL" is kept up to date: each "update"
  // event replaces the content of the element named by
  // data-stream-target (or the element itself); "done" ends the stream.
  function live(el) {
    if (!window.EventSource) {
      return;
    }
    var target = document.getElementById(el.getAttribute('data-stream-target')) || el;
    var status = document.getElementById('live-status');
    var source = new EventSource(el.getAttribute('data-stream'));
    function say(state, text) {
      el.setAttribute('data-live', state);
      if (status) {
        status.textContent = text;
      }
    }
    source.addEventListener('open', function () { say('on', '(live)'); });
    source.addEventListener('update', function (e) {
      target.innerHTML = e.data;
      el.setAttribute('data-updates', String(Number(el.getAttribute('data-updates') || '0') + 1));
      say('on', '(live)');
    });
    source.addEventListener('done', function () {
      source.close();
      say('done', '');
    });
    source.addEventListener('signedout', function () {
      source.close();
      say('off', '(signed out: reload the page)');
    });
    source.addEventListener('problem', function (e) { say('problem', '(' + e.data + ')'); });
    source.addEventListener('error', function () {
      if (source.readyState === EventSource.CLOSED) {
        say('off', '(not live: reload the page)');
      } else {
        say('reconnecting', '(reconnecting…)');
      }
    });
  }

  // The reply form's fieldsets say with data-types which reply types use
  // them; the others are hidden (and their inputs disabled, so they are
  // not sent).
  function replyFields(select) {
    var form = select.form;
    function apply() {
      var type = select.value;
      var sets = form.querySelectorAll('fieldset[data-types]');
      for (var i = 0; i < sets.length; i++) {
        var on = sets[i].getAttribute('data-types').split(' ').indexOf(type) >= 0;
        sets[i].hidden = !on;
        sets[i].disabled = !on;
      }
    }
    select.addEventListener('change', apply);
    apply();
  }

  function start() {
    var streams = document.querySelectorAll('[data-stream]');
    for (var i = 0; i < streams.length; i++) {
      live(streams[i]);
    }
    var type = document.getElementById('reply-type');
    if (type) {
      replyFields(type);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
  // The welcome page: a one-time link carries its token in the fragment
  // (#token=…), which no server sees; move it into the form, and out of
  // the address bar and the history.
  (function () {
    var field = document.getElementById('welcome-token');
    if (!field) {
      return;
    }
    var m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
    if (m) {
      field.value = m[1];
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, '', window.location.pathname);
      }
    } else if (!field.value) {
      document.getElementById('welcome-no-token').hidden = false;
    }
  })();
})();
