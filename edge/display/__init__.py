"""The nurse's touch display: a web page served on 127.0.0.1, shown by Chromium in kiosk mode."""
