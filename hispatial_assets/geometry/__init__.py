"""Pure numpy geometry: cameras, unprojection, the gravity frame, 3D boxes, orientation.

Conventions (DESIGN §3), one definition everywhere:

- Camera frame: OpenCV (x right, y down, z forward), meters.
- Gravity frame: z up, y = camera forward projected on the horizontal plane, x = y × z (right),
  origin at the camera. ``p_gravity = R_cg @ p_camera``.
- Yaw angles (box yaw, front yaw) are measured in the gravity frame's horizontal plane,
  counter-clockwise seen from above, from +x: 0 = facing right, +90° = facing away from the
  camera, -90° (or 270°) = facing toward the camera, 180° = facing left. Stored in radians.
- 3D box: center (gravity frame), extents = (width, depth, height); width runs along the box's local
  axis u = (cos yaw, sin yaw, 0), depth along v = (-sin yaw, cos yaw, 0), height along z. An object
  with a front faces +v, so ``front_yaw = yaw + pi/2``.
"""
