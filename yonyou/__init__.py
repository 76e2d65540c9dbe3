"""The Yonyou (用友 YonBIP) open-API client, and its sandbox in `yonyou.sandbox`."""
