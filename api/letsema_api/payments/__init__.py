"""Mobile-money payments: the signed M-Pesa callback and the suspense queue of unmatched receipts."""
