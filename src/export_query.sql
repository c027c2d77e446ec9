SELECT loans.*, loan_types.loan_type_name FROM loans INNER JOIN loan_types ON loans.loan_type_id = loan_types.id WHERE loans.loan_amount > 30000 AND loans.loan_amount < 800000
