"""Fidgety-movement analysis: from pose and IMU streams to a screening decision.

Tracks (`tracks`) are one recording's streams after preprocessing (`preprocess`): resampled to
one rate, gaps bridged with a mask, the pose in a body-centred frame, the IMU filtered with
gravity split off. Windows are cut from them; features (`features`) and networks
(`models`) score windows; evaluation (`evaluate`) keeps every infant on one side of a fold.
"""
