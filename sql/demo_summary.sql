-- What `hispatial demo` prints at the end: per drop, how much each stage produced.
SELECT i.drop_id,
       count(*) AS images,
       (SELECT count(*) FROM rejected r WHERE r.drop_id = i.drop_id) AS rejected,
       (SELECT count(*) FROM point_maps p WHERE p.drop_id = i.drop_id) AS point_maps,
       (SELECT count(*) FROM gt_objects g WHERE g.drop_id = i.drop_id) AS gt_objects
FROM images i
GROUP BY i.drop_id
ORDER BY i.drop_id;
