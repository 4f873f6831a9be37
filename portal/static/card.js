// The card page: Stripe's own card field (Stripe.js), confirming the SetupIntent the server
// made; the card number goes from this field to Stripe, never to evgate. Then back to evgate,
// which reads the SetupIntent from Stripe.
(function () {
  "use strict";
  const form = document.getElementById("card-form");
  const stripe = Stripe(form.dataset.key);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const error = document.getElementById("card-error");
  const save = document.getElementById("card-save");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    save.disabled = true;
    error.hidden = true;
    const result = await stripe.confirmCardSetup(form.dataset.secret, {
      payment_method: { card: card },
    });
    if (result.error) {
      error.textContent = result.error.message || String(result.error);
      error.hidden = false;
      save.disabled = false;
      return;
    }
    window.location.assign(
      form.dataset["return"] + "?setup_intent=" + encodeURIComponent(result.setupIntent.id)
    );
  });
})();
