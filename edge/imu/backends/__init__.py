"""Where the IMU service's bleak runs: the real radio (`ble`) or the simulator's (`sim`).

Each backend only chooses bleak's scanner and client classes and how sensors are assigned by
default; the GSP client, discovery and links above them are the same code for both.
"""
