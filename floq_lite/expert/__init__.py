"""The low-level ant expert: SAC on ``online-ant-xy-v0`` (:mod:`.sac`, :mod:`.ant_xy`, :mod:`.train`) and the
policy shipped with the package (:mod:`.shipped`) that the antmaze navigate generator uses."""
