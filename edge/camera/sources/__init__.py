"""Where frames come from: a Kinect through pyk4a (`k4a`), a recording (`mkv`), the simulator
(`sim`). One file each; the service above them is the same."""
