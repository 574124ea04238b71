# Prints a header and n rows of the inventory CSV (product_id, location,
# quantity, update_date), all valid and all different, for tests that need
# a large file without keeping one in the tree:
#   awk -v n=1000000 -f tests/data/inventory_rows.awk > big.csv
BEGIN {
  print "product_id,location,quantity,update_date"
  for (i = 1; i <= n; i++)
    printf "P%07d,Warehouse %d,%d,2024-%02d-%02d\n", i, i % 97, i % 1000,
      i % 12 + 1, i % 28 + 1
}
