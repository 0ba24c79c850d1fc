"""The `imu` service's parts: Movesense sensors over BLE, speaking the GATT sensor-data protocol.

`edge.imu.gsp` is the protocol itself, pure functions shared with the simulated sensor.
"""
