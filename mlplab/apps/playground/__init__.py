"""The playground: train a network in the browser and watch it learn, on the real engine.

``mlplab serve`` starts it (:func:`mlplab.playground.server.create_app` builds the app).
Each browser tab gets a :class:`~mlplab.playground.session.Session`; training runs on the
server, and frames stream to the page over a WebSocket. The page (``static/``) is plain
HTML, CSS and JavaScript: no build step, no network access beyond the local server.
"""
