// A finger (or mouse, or pen) signature box, without any library and without inline script
// (Content-Security-Policy). Each [data-signature] box holds a canvas; every stroke is drawn
// with pointer events and, when it ends, the picture is written as a PNG data URL into the
// hidden field named "signature". Without JavaScript the box stays hidden and its note says so;
// the server refuses a form without a signature in words either way.
(function () {
  "use strict";

  var INK = "#10243a";
  var EMPTY = "Sign in the box with a finger or the mouse, then press “I agree”.";

  function setUp(box) {
    var pad = box.querySelector("[data-signature-pad]");
    var canvas = box.querySelector("[data-signature-canvas]");
    var tools = box.querySelector("[data-signature-tools]");
    var clear = box.querySelector("[data-signature-clear]");
    var status = box.querySelector("[data-signature-status]");
    var note = box.querySelector("[data-signature-nojs]");
    var field = box.querySelector("input[name='signature']");
    var form = box.closest("form");
    if (!pad || !canvas || !field || !canvas.getContext) {
      return;
    }
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var last = null;
    var strokes = 0;

    function paper() {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.strokeStyle = INK;
      ctx.fillStyle = INK;
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
    }

    // The canvas keeps its own size in pixels (600 x 260); CSS stretches it to the box, so a
    // point on the screen is scaled back to the canvas.
    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return {
        x: ((event.clientX - rect.left) * canvas.width) / rect.width,
        y: ((event.clientY - rect.top) * canvas.height) / rect.height,
      };
    }

    function dot(p) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, Math.PI * 2);
      ctx.fill();
    }

    function save() {
      field.value = strokes ? canvas.toDataURL("image/png") : "";
      box.classList.toggle("signed", strokes > 0);
      if (strokes) {
        box.classList.remove("missing");
      }
      if (status) {
        status.textContent = strokes ? "Signed. Press “Clear” to start again." : "";
      }
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== undefined && event.button > 0) {
        return;
      }
      event.preventDefault();
      drawing = true;
      last = point(event);
      dot(last);
      if (canvas.setPointerCapture && event.pointerId !== undefined) {
        try {
          canvas.setPointerCapture(event.pointerId);
        } catch (e) {
          /* a synthetic pointer: drawing still works */
        }
      }
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) {
        return;
      }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) {
        events = [event];
      }
      events.forEach(function (e) {
        var p = point(e);
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(p.x, p.y);
        ctx.stroke();
        last = p;
      });
    });
    function end() {
      if (!drawing) {
        return;
      }
      drawing = false;
      strokes += 1;
      save();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", end);

    if (clear) {
      clear.addEventListener("click", function () {
        strokes = 0;
        paper();
        save();
        canvas.focus && canvas.focus();
      });
    }

    if (form) {
      form.addEventListener("submit", function (event) {
        if (!field.value) {
          event.preventDefault();
          if (status) {
            status.textContent = EMPTY;
          }
          box.classList.add("missing");
          pad.scrollIntoView({ block: "center" });
        }
      });
    }

    paper();
    field.value = "";
    if (note) {
      note.hidden = true;
    }
    pad.hidden = false;
    if (tools) {
      tools.hidden = false;
    }
    box.classList.add("ready");
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-signature]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
