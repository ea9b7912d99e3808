/*!
 * Kumpel web chat widget. One script tag, no framework, nothing from third-party hosts.
 * Embedding and configuration: webchat/README.md. License: MIT.
 *
 * Privacy by construction: before the visitor opens the chat this script neither connects,
 * nor sets a cookie, nor writes to storage. The conversation text is never stored in the
 * browser: after a reload the server sends the history of the session (channel
 * bot/channels/kumpel_socketio.py); the browser keeps only the random session id.
 */
(function () {
  "use strict";

  if (window.KumpelWebchat) return; // embedded twice: keep the first

  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var scriptUrl = new URL((script && script.src) || window.location.href, window.location.href);
  var baseUrl = new URL(".", scriptUrl).href;

  var TEXTS = {
    de: {
      launcher: "Chat mit Kumpel",
      title: "Kumpel",
      subtitle: "Digitaler Assistent der Stadt",
      assistant: "Digitaler Assistent",
      close: "Chat schließen",
      deleteConversation: "Unterhaltung löschen",
      deleteShort: "Löschen",
      confirmDelete: "Möchten Sie diese Unterhaltung löschen? Sie wird auch auf dem Server entfernt.",
      confirmYes: "Ja, löschen",
      confirmNo: "Abbrechen",
      deleted: "Ihre Unterhaltung wurde gelöscht.",
      deleteFailed: "Löschen ist gerade nicht möglich, weil der Server nicht erreichbar ist. Bitte versuchen Sie es gleich noch einmal.",
      notice: "Kumpel ist ein automatischer Assistent. Bitte geben Sie keine persönlichen Daten (Name, Adresse, Kontonummer) ein, solange Sie nicht danach gefragt werden. Sie können die Unterhaltung jederzeit löschen.",
      privacyLink: "Datenschutzerklärung",
      logLabel: "Unterhaltung mit Kumpel",
      inputLabel: "Ihre Nachricht",
      inputPlaceholder: "Ihre Frage …",
      send: "Senden",
      you: "Sie:",
      bot: "Kumpel:",
      typing: "Kumpel schreibt …",
      connecting: "Verbindung wird hergestellt …",
      offline: "Keine Verbindung zum Server. Ein neuer Versuch läuft automatisch; Ihre Unterhaltung bleibt erhalten.",
      online: "Verbindung wiederhergestellt.",
      noReply: "Keine Antwort erhalten. Bitte versuchen Sie es erneut.",
      empty: "Bitte geben Sie zuerst eine Frage ein.",
      suggestions: "Antwortvorschläge",
      readAloud: "Vorlesen",
      stopReading: "Vorlesen beenden",
      helpful: "War diese Antwort hilfreich?",
      yes: "Ja",
      no: "Nein",
      thanks: "Danke für Ihre Rückmeldung.",
      feedbackFailed: "Ihre Rückmeldung konnte nicht gespeichert werden.",
      newWindow: "(öffnet in neuem Fenster)",
      welcome: "Hallo! Ich bin Kumpel, der digitale Assistent der Stadt. Fragen Sie mich zum Beispiel nach Öffnungszeiten, Gebühren, Unterlagen oder der Hundesteuer.",
      examples: ["Wann hat das Bürgerbüro geöffnet?", "Was kostet die Hundesteuer?", "Personalausweis beantragen"],
    },
    en: {
      launcher: "Chat with Kumpel",
      title: "Kumpel",
      subtitle: "The city's digital assistant",
      assistant: "Digital assistant",
      close: "Close chat",
      deleteConversation: "Delete conversation",
      deleteShort: "Delete",
      confirmDelete: "Do you want to delete this conversation? It will also be removed from the server.",
      confirmYes: "Yes, delete",
      confirmNo: "Cancel",
      deleted: "Your conversation has been deleted.",
      deleteFailed: "Deleting is not possible right now because the server cannot be reached. Please try again shortly.",
      notice: "Kumpel is an automated assistant. Please do not enter personal data (name, address, account number) unless you are asked for it. You can delete the conversation at any time.",
      privacyLink: "Privacy statement",
      logLabel: "Conversation with Kumpel",
      inputLabel: "Your message",
      inputPlaceholder: "Your question …",
      send: "Send",
      you: "You:",
      bot: "Kumpel:",
      typing: "Kumpel is typing …",
      connecting: "Connecting …",
      offline: "No connection to the server. Retrying automatically; your conversation is kept.",
      online: "Connection restored.",
      noReply: "No reply received. Please try again.",
      empty: "Please type a question first.",
      suggestions: "Suggested replies",
      readAloud: "Read aloud",
      stopReading: "Stop reading",
      helpful: "Was this answer helpful?",
      yes: "Yes",
      no: "No",
      thanks: "Thank you for your feedback.",
      feedbackFailed: "Your feedback could not be saved.",
      newWindow: "(opens in a new window)",
      welcome: "Hello! I am Kumpel, the city's digital assistant. Ask me about opening hours, fees, documents or the dog tax, for example. I answer in German.",
      examples: ["Wann hat das Bürgerbüro geöffnet?", "Was kostet die Hundesteuer?", "Personalausweis beantragen"],
    },
  };

  var pageLang = (document.documentElement.lang || "de").slice(0, 2).toLowerCase();
  var lang = (data.language || pageLang) === "en" ? "en" : "de";
  var t = TEXTS[lang];
  var config = {
    serverUrl: data.serverUrl || window.location.protocol + "//" + window.location.hostname + ":5005",
    socketPath: data.socketPath || "/socket.io/",
    feedbackUrl: data.feedbackUrl || new URL("/api/v1/feedback", scriptUrl).href,
    // The town profile of the knowledge base names the town in the subtitle (issue 12: the town is data).
    municipalityUrl: data.municipalityUrl || new URL("/api/v1/municipality", scriptUrl).href,
    title: data.title || t.title,
    subtitle: data.subtitle || t.subtitle,
    primaryColor: data.primaryColor || "#005ea8",
    privacyUrl: data.privacyUrl || "",
    storage: data.storage === "local" ? "localStorage" : "sessionStorage",
  };
  var KEY_SESSION = "kumpel.session";
  var KEY_OPEN = "kumpel.open";
  var REPLY_TIMEOUT_MS = 20000;

  // ---- storage: only touched after the visitor opened the chat --------------------------------
  function store() {
    try {
      return window[config.storage];
    } catch (e) {
      return null; // storage disabled by the browser: the chat still works for this page view
    }
  }
  function readStored(key) {
    var s = store();
    return s ? s.getItem(key) : null;
  }
  function writeStored(key, value) {
    var s = store();
    if (s) s.setItem(key, value);
  }
  function clearStored() {
    var s = store();
    if (s) {
      s.removeItem(KEY_SESSION);
      s.removeItem(KEY_OPEN);
    }
  }

  // ---- colours: keep text contrast >= 4.5:1 whatever colour the city configures ----------------
  function parseHex(hex) {
    var m = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(String(hex).trim());
    if (!m) return null;
    var h = m[1].length === 3 ? m[1].replace(/(.)/g, "$1$1") : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(h.slice(i, i + 2), 16); });
  }
  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function toHex(rgb) {
    return "#" + rgb.map(function (v) { return ("0" + Math.round(v).toString(16)).slice(-2); }).join("");
  }
  function themeColours(primary) {
    var rgb = parseHex(primary) || parseHex("#005ea8");
    var white = [255, 255, 255];
    // Accent used as text/border on white: darken until it reads at 4.5:1.
    var accent = rgb.slice();
    while (contrast(accent, white) < 4.6) accent = accent.map(function (v) { return v * 0.9; });
    var onPrimary = contrast(rgb, white) >= 4.5 ? "#ffffff" : "#111111";
    return { primary: toHex(rgb), onPrimary: onPrimary, accent: toHex(accent) };
  }

  // ---- DOM helpers: all text goes through textContent, never innerHTML -------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function svgIcon(pathD) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathD);
    svg.appendChild(path);
    return svg;
  }
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
    close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z",
    trash: "M9 3h6l1 2h4v2H4V5h4zm-3 6h12l-1 12H7z",
    speaker: "M4 9h4l5-4v14l-5-4H4zm12.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4z",
    up: "M2 21h4V9H2zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3a1.5 1.5 0 0 0-.4-1L13 1 6.6 7.6A2 2 0 0 0 6 9v10a2 2 0 0 0 2 2h9a2 2 0 0 0 1.8-1.2l3-7.1.2-.7z",
    down: "M22 3h-4v12h4zM2 14a2 2 0 0 0 2 2h6.3l-1 4.6v.3c0 .4.2.8.4 1L11 23l6.4-6.6A2 2 0 0 0 18 15V5a2 2 0 0 0-2-2H7a2 2 0 0 0-1.8 1.2l-3 7.1L2 12z",
    send: "M2 21 23 12 2 3v7l15 2-15 2z",
  };

  // Bot text: paragraphs, "- " / "1. " lists, http(s) links and e-mail addresses become elements.
  var LINK_PATTERN = /(https?:\/\/[^\s<>"]+|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;
  var BULLET = /^\s*(?:[-•*]\s+)(.*)$/;
  var NUMBERED = /^\s*\d+[.)]\s+(.*)$/;

  function appendInline(parent, text) {
    var last = 0;
    text.replace(LINK_PATTERN, function (match, _g, offset) {
      var url = match.replace(/[.,;:!?)\]]+$/, "");
      if (offset > last) parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var isMail = url.indexOf("@") > 0 && !/^https?:/.test(url);
      var link = el("a", { href: isMail ? "mailto:" + url : url, text: url });
      if (!isMail) {
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.appendChild(el("span", { className: "visually-hidden", text: " " + t.newWindow }));
      }
      parent.appendChild(link);
      last = offset + url.length;
      return match;
    });
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderRichText(container, text) {
    String(text || "").split(/\n{2,}/).forEach(function (paragraph) {
      var lines = paragraph.split("\n");
      var block = null;
      var blockKind = null;
      lines.forEach(function (line) {
        var bullet = BULLET.exec(line), numbered = NUMBERED.exec(line);
        var kind = bullet ? "ul" : numbered ? "ol" : "p";
        if (kind !== blockKind || kind === "p" && !block) {
          block = el(kind, { className: kind === "p" && /^(Quelle|Source):/.test(line) ? "source" : null });
          blockKind = kind;
          container.appendChild(block);
        }
        if (kind === "p") {
          if (block.childNodes.length) block.appendChild(el("br"));
          appendInline(block, line);
        } else {
          var item = el("li");
          appendInline(item, (bullet || numbered)[1]);
          block.appendChild(item);
        }
      });
    });
  }

  // ---- the widget ------------------------------------------------------------------------------
  var host = el("div", { id: "kumpel-webchat", className: "kumpel-webchat-host" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var colours = themeColours(config.primaryColor);
  host.style.setProperty("--kumpel-primary", colours.primary);
  host.style.setProperty("--kumpel-on-primary", colours.onPrimary);
  host.style.setProperty("--kumpel-accent", colours.accent);

  var ids = { panel: "kumpel-panel", title: "kumpel-title", notice: "kumpel-notice", input: "kumpel-input" };
  var launcher = el("button", {
    type: "button", className: "launcher", "aria-expanded": "false", "aria-controls": ids.panel,
  }, [svgIcon(ICONS.chat), el("span", { text: t.launcher })]);

  var closeButton = el("button", { type: "button", className: "icon-button close", "aria-label": t.close, title: t.close }, [svgIcon(ICONS.close)]);
  var deleteButton = el("button", { type: "button", className: "text-button delete", "aria-label": t.deleteConversation, title: t.deleteConversation }, [svgIcon(ICONS.trash), el("span", { text: t.deleteShort })]);
  var confirmYes = el("button", { type: "button", className: "text-button danger", text: t.confirmYes });
  var confirmNo = el("button", { type: "button", className: "text-button", text: t.confirmNo });
  var confirmBox = el("div", { className: "confirm", role: "group", "aria-label": t.deleteConversation, hidden: true }, [
    el("p", { text: t.confirmDelete }), el("div", { className: "confirm-actions" }, [confirmNo, confirmYes]),
  ]);

  var noticeChildren = [el("span", { text: t.notice + " " })];
  if (config.privacyUrl) {
    var privacy = el("a", { href: config.privacyUrl, text: t.privacyLink });
    noticeChildren.push(privacy);
  }
  var notice = el("p", { id: ids.notice, className: "notice" }, noticeChildren);
  var log = el("div", { className: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": t.logLabel });
  var typingDots = el("div", { className: "typing", "aria-hidden": "true", hidden: true }, [el("span"), el("span"), el("span")]);
  var body = el("div", { className: "body", tabindex: "0", "aria-label": t.logLabel }, [notice, log, typingDots]);
  var status = el("p", { className: "status", role: "status", "aria-live": "polite" });
  var input = el("textarea", {
    id: ids.input, rows: "2", maxlength: "1000", placeholder: t.inputPlaceholder, "aria-describedby": ids.notice, autocomplete: "off",
  });
  var sendButton = el("button", { type: "submit", className: "send", "aria-label": t.send, title: t.send }, [svgIcon(ICONS.send), el("span", { className: "send-text", text: t.send })]);
  var form = el("form", { className: "composer" }, [
    el("label", { for: ids.input, className: "visually-hidden", text: t.inputLabel }), input, sendButton,
  ]);
  var subtitle = el("p", { className: "subtitle", text: config.subtitle });
  // Without a data-subtitle of the page, the subtitle names the town of the knowledge base's profile:
  // "Stadt Hellbach · Digitaler Assistent" (the profile's name, so "Gemeinde" or "Markt" as it is).
  if (!data.subtitle && window.fetch) {
    fetch(config.municipalityUrl, { headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (profile) {
        var name = profile && typeof profile.name === "string" ? profile.name.trim() : "";
        if (name) subtitle.textContent = name.slice(0, 80) + " · " + t.assistant;
      })
      .catch(function () { /* no profile: the generic subtitle stays */ });
  }
  var panel = el("section", {
    id: ids.panel, className: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": ids.title, lang: lang, hidden: true,
  }, [
    el("header", { className: "header" }, [
      el("div", { className: "heading" }, [el("h2", { id: ids.title, text: config.title }), subtitle]),
      deleteButton, closeButton,
    ]),
    confirmBox, body, status, form,
  ]);
  var stylesheet = el("link", { rel: "stylesheet", href: baseUrl + "kumpel-widget.css" });
  root.appendChild(stylesheet);
  root.appendChild(el("div", { className: "kumpel", lang: lang }, [panel, launcher]));

  // ---- state -------------------------------------------------------------------------------------
  var socket = null;
  var sessionId = null;
  var historyShown = false;
  var replyTimer = null;
  var wasOffline = false;
  var noticeAfterConnect = "";
  var ioLoading = null;

  function setStatus(text) {
    status.textContent = text || "";
  }
  function scrollToEnd() {
    // Until the visitor has written something, keep the privacy notice (top of the body) in view.
    body.scrollTop = log.querySelector(".message.user") ? body.scrollHeight : 0;
  }
  function showTyping(on) {
    typingDots.hidden = !on;
    if (on) panel.setAttribute("data-busy", "true");
    else panel.removeAttribute("data-busy");
    clearTimeout(replyTimer);
    if (on) {
      setStatus(t.typing);
      replyTimer = setTimeout(function () { showTyping(false); setStatus(t.noReply); }, REPLY_TIMEOUT_MS);
      scrollToEnd();
    } else if (status.textContent === t.typing) {
      setStatus("");
    }
  }

  function removeQuickReplies() {
    Array.prototype.forEach.call(log.querySelectorAll(".quick-replies"), function (group) { group.remove(); });
  }

  function addUserMessage(text) {
    log.appendChild(el("div", { className: "message user" }, [
      el("span", { className: "visually-hidden", text: t.you + " " }), el("p", { text: text }),
    ]));
    scrollToEnd();
  }

  function readAloudButton(text) {
    if (!("speechSynthesis" in window) || typeof window.SpeechSynthesisUtterance !== "function") return null;
    var button = el("button", { type: "button", className: "icon-button small read-aloud", "aria-label": t.readAloud, title: t.readAloud, "aria-pressed": "false" }, [svgIcon(ICONS.speaker)]);
    button.addEventListener("click", function () {
      var speaking = button.getAttribute("aria-pressed") === "true";
      window.speechSynthesis.cancel();
      Array.prototype.forEach.call(log.querySelectorAll(".read-aloud"), function (b) { b.setAttribute("aria-pressed", "false"); });
      if (speaking) return;
      var utterance = new window.SpeechSynthesisUtterance(text);
      utterance.lang = lang === "en" ? "en-GB" : "de-DE";
      utterance.onend = utterance.onerror = function () { button.setAttribute("aria-pressed", "false"); };
      button.setAttribute("aria-pressed", "true");
      window.speechSynthesis.speak(utterance);
    });
    return button;
  }

  // The action server puts its answer metadata under custom.kumpel (entry, source, message_id).
  function answerMeta(message) {
    var custom = message.custom && typeof message.custom === "object" ? message.custom : {};
    return custom.kumpel && typeof custom.kumpel === "object" ? custom.kumpel : custom;
  }

  function feedbackGroup(message) {
    var meta = answerMeta(message);
    var entry = meta.entry;
    var messageId = meta.message_id || message.message_id;
    if (!entry || !entry.id || !messageId) return null;
    var question = el("span", { className: "feedback-question", text: t.helpful });
    var up = el("button", { type: "button", className: "icon-button small", "aria-label": t.helpful + " " + t.yes, title: t.yes, "aria-pressed": "false", "data-rating": "up" }, [svgIcon(ICONS.up)]);
    var down = el("button", { type: "button", className: "icon-button small", "aria-label": t.helpful + " " + t.no, title: t.no, "aria-pressed": "false", "data-rating": "down" }, [svgIcon(ICONS.down)]);
    var group = el("div", { className: "feedback", role: "group", "aria-label": t.helpful }, [question, up, down]);
    function rate(event) {
      var button = event.currentTarget;
      if (group.getAttribute("data-rated")) return;
      group.setAttribute("data-rated", "pending");
      fetch(config.feedbackUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "omit",
        body: JSON.stringify({
          rating: button.getAttribute("data-rating"), entry_type: String(entry.type || "service"),
          entry_id: String(entry.id), message_id: String(messageId),
        }),
      }).then(function (resp) {
        if (!resp.ok && resp.status !== 409) throw new Error(String(resp.status));
        group.setAttribute("data-rated", button.getAttribute("data-rating"));
        button.setAttribute("aria-pressed", "true");
        [up, down].forEach(function (b) { b.setAttribute("aria-disabled", "true"); });
        question.textContent = t.thanks;
        setStatus(t.thanks);
      }).catch(function () {
        group.removeAttribute("data-rated");
        setStatus(t.feedbackFailed);
      });
    }
    up.addEventListener("click", rate);
    down.addEventListener("click", rate);
    return group;
  }

  function addBotMessage(message, options) {
    var interactive = !options || options.interactive !== false;
    var text = String(message.text || "");
    var content = el("div", { className: "content" });
    renderRichText(content, text);
    var node = el("div", { className: "message bot" }, [el("span", { className: "visually-hidden", text: t.bot + " " }), content]);
    if (message.image && /^https?:\/\//.test(String(message.image))) {
      content.appendChild(el("img", { src: String(message.image), alt: "" }));
    }
    var tools = el("div", { className: "tools" }, [text ? readAloudButton(text) : null, feedbackGroup(message)]);
    if (tools.childNodes.length) node.appendChild(tools);
    var replies = message.quick_replies || [];
    if (interactive && replies.length) {
      removeQuickReplies();
      var group = el("div", { className: "quick-replies", role: "group", "aria-label": t.suggestions });
      replies.forEach(function (reply) {
        group.appendChild(el("button", {
          type: "button", className: "quick-reply", text: String(reply.title || reply.payload),
          onclick: function () { sendMessage(String(reply.payload || reply.title), String(reply.title || "")); },
        }));
      });
      node.appendChild(group);
    }
    log.appendChild(node);
    scrollToEnd();
    return node;
  }

  function addWelcome() {
    addBotMessage({ text: t.welcome, quick_replies: t.examples.map(function (q) { return { title: q, payload: q }; }) });
  }

  // ---- socket ------------------------------------------------------------------------------------
  function loadSocketIo() {
    if (ioLoading) return ioLoading;
    ioLoading = new Promise(function (resolve, reject) {
      var previous = window.io;
      var tag = document.createElement("script");
      tag.src = baseUrl + "vendor/socket.io.min.js";
      tag.async = true;
      tag.onload = function () {
        var io = window.io;
        // Leave the host page's own global `io` (if any) as it was.
        if (previous === undefined) { try { delete window.io; } catch (e) { window.io = undefined; } } else { window.io = previous; }
        resolve(io);
      };
      tag.onerror = function () { ioLoading = null; reject(new Error("socket.io client not loaded")); };
      document.head.appendChild(tag);
    });
    return ioLoading;
  }

  function setOnline(online) {
    panel.setAttribute("data-connection", online ? "online" : "offline");
    sendButton.disabled = !online;
    if (!online) {
      showTyping(false);
      setStatus(t.offline);
      wasOffline = true;
    } else if (noticeAfterConnect) {
      setStatus(noticeAfterConnect); // e.g. "deleted": outlives the reconnect that follows it
      noticeAfterConnect = "";
    } else if (wasOffline) {
      setStatus(t.online);
      wasOffline = false;
    } else if (status.textContent === t.connecting || status.textContent === t.offline) {
      setStatus("");
    }
  }

  function connect() {
    if (socket) return Promise.resolve(socket);
    if (!noticeAfterConnect) setStatus(t.connecting);
    sendButton.disabled = true;
    return loadSocketIo().then(function (io) {
      if (socket) return socket;
      socket = io(config.serverUrl, {
        path: config.socketPath, transports: ["websocket", "polling"], withCredentials: false,
        reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 4000,
      });
      socket.on("connect", function () {
        socket.emit("session_request", { session_id: readStored(KEY_SESSION) || sessionId });
      });
      socket.on("session_confirm", function (id) {
        sessionId = String(id);
        writeStored(KEY_SESSION, sessionId);
        setOnline(true);
      });
      socket.on("session_history", function (messages) {
        if (historyShown) return; // a reconnect: the page already shows the conversation
        historyShown = true;
        log.setAttribute("aria-busy", "true"); // do not read the whole history aloud again
        (Array.isArray(messages) ? messages : []).forEach(function (m, index) {
          if (m.sender === "user") addUserMessage(String(m.text || ""));
          else addBotMessage(m, { interactive: index === messages.length - 1 });
        });
        if (!log.childNodes.length) addWelcome();
        log.removeAttribute("aria-busy");
      });
      socket.on("bot_uttered", function (message) {
        if (!message || typeof message !== "object") return;
        addBotMessage(message); // the typing dots stay until bot_done: more may follow
      });
      socket.on("bot_done", function () { showTyping(false); });
      socket.on("session_deleted", function () { resetConversation(t.deleted); });
      socket.on("disconnect", function () { setOnline(false); });
      socket.on("connect_error", function () { setOnline(false); });
      return socket;
    }).catch(function () {
      setOnline(false);
    });
  }

  function sendMessage(text, displayText) {
    var message = String(text || "").trim();
    if (!message) {
      setStatus(t.empty);
      input.focus();
      return;
    }
    if (!socket || !socket.connected || !sessionId) {
      setStatus(t.offline);
      return;
    }
    removeQuickReplies();
    addUserMessage(displayText || message);
    var metadata = { language: lang };
    if (displayText) metadata.display_text = displayText;
    socket.emit("user_uttered", { message: message, session_id: sessionId, metadata: metadata });
    showTyping(true);
    input.focus();
  }

  function resetConversation(statusText) {
    if (socket) {
      socket.off(); // a deliberate disconnect is not an outage: no "offline" message
      socket.disconnect();
      socket = null;
    }
    wasOffline = false;
    noticeAfterConnect = statusText || "";
    panel.setAttribute("data-connection", "connecting");
    sendButton.disabled = true;
    sessionId = null;
    historyShown = false;
    clearStored();
    while (log.firstChild) log.removeChild(log.firstChild);
    showTyping(false);
    setStatus(statusText || "");
    if (!panel.hidden) {
      writeStored(KEY_OPEN, "1");
      connect();
    }
  }

  // ---- open / close / delete ---------------------------------------------------------------------
  function open(options) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    host.setAttribute("data-open", "true");
    writeStored(KEY_OPEN, "1");
    connect();
    if (!options || options.focus !== false) input.focus();
    scrollToEnd();
  }
  function close() {
    hideConfirm(false);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    host.removeAttribute("data-open");
    if (readStored(KEY_SESSION)) writeStored(KEY_OPEN, "0");
    if (window.speechSynthesis) window.speechSynthesis.cancel();
    launcher.focus();
  }
  function showConfirm() {
    confirmBox.hidden = false;
    confirmNo.focus();
  }
  function hideConfirm(focusBack) {
    if (confirmBox.hidden) return;
    confirmBox.hidden = true;
    if (focusBack !== false) deleteButton.focus();
  }
  function deleteConversation() {
    if (!socket || !socket.connected || !sessionId) {
      hideConfirm();
      setStatus(t.deleteFailed);
      return;
    }
    socket.timeout(5000).emit("delete_session", { session_id: sessionId }, function (err, result) {
      if (err || !result || !result.deleted) {
        hideConfirm();
        setStatus(t.deleteFailed);
        return;
      }
      hideConfirm(false);
      resetConversation(t.deleted);
      input.focus();
    });
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeButton.addEventListener("click", close);
  deleteButton.addEventListener("click", showConfirm);
  confirmNo.addEventListener("click", function () { hideConfirm(); });
  confirmYes.addEventListener("click", deleteConversation);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (text.trim() && (!socket || !socket.connected)) { setStatus(t.offline); return; }
    sendMessage(text);
    if (text.trim()) input.value = "";
  });
  input.addEventListener("keydown", function (event) {
    // Enter sends, Shift+Enter makes a new line (as in most chats).
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      if (!confirmBox.hidden) hideConfirm();
      else close();
    }
  });

  function mount() {
    document.body.appendChild(host);
    // A visitor who already chatted in this tab gets the conversation back after reload/navigation.
    if (readStored(KEY_SESSION)) {
      if (readStored(KEY_OPEN) === "1") open({ focus: false });
      else connect();
    }
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.KumpelWebchat = { open: open, close: close, config: config };
})();
