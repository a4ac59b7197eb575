-- What `hispatial demo` prints at the end: per drop, how much each stage produced.
SELECT i.drop_id,
       count(*) AS images,
       (SELECT count(*) FROM rejected r WHERE r.drop_id = i.drop_id) AS rejected,
       (SELECT count(*) FROM point_maps p WHERE p.drop_id = i.drop_id) AS point_maps,
       (SELECT count(*) FROM objects o WHERE o.drop_id = i.drop_id) AS objects,
       (SELECT count(*) FROM gt_objects g WHERE g.drop_id = i.drop_id) AS gt_objects,
       (SELECT count(*) FROM referrals f WHERE f.drop_id = i.drop_id AND f.verified) AS verified_referrals,
       (SELECT count(*) FROM qa q WHERE q.drop_id = i.drop_id AND q.level = 0) AS qa_l0,
       (SELECT count(*) FROM qa q WHERE q.drop_id = i.drop_id AND q.level = 1) AS qa_l1,
       (SELECT count(*) FROM qa q WHERE q.drop_id = i.drop_id AND q.level = 2) AS qa_l2,
       (SELECT count(*) FROM qa q WHERE q.drop_id = i.drop_id AND q.level = 3) AS qa_l3
FROM images i
GROUP BY i.drop_id
ORDER BY i.drop_id;
